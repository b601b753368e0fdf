CREATE TABLE "experiment_failures" (
	"namespace_id" text NOT NULL,
	"experiment_id" text NOT NULL,
	"variant" text NOT NULL,
	"failed" integer NOT NULL,
	"last_failed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "experiment_failures_namespace_id_experiment_id_variant_pk" PRIMARY KEY("namespace_id","experiment_id","variant")
);
--> statement-breakpoint
ALTER TABLE "rec_logs" ADD COLUMN "segment" text;--> statement-breakpoint
ALTER TABLE "rec_logs" ADD COLUMN "duration_ms" double precision;