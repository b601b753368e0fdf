CREATE TABLE "bundle_acceptance_days" (
	"namespace_id" text NOT NULL,
	"day" text NOT NULL,
	"bundle_key" text NOT NULL,
	"item_ids" jsonb NOT NULL,
	"shown" integer NOT NULL,
	"all_added" integer NOT NULL,
	"purchased" integer NOT NULL,
	"purchase_window_days" integer NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "bundle_acceptance_days_namespace_id_day_bundle_key_pk" PRIMARY KEY("namespace_id","day","bundle_key")
);
