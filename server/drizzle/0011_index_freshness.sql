CREATE TABLE "index_freshness" (
	"namespace_id" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"replica" text NOT NULL,
	"max_lag_ms" double precision NOT NULL,
	CONSTRAINT "index_freshness_namespace_id_minute_replica_pk" PRIMARY KEY("namespace_id","minute","replica")
);
