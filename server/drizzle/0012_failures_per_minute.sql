ALTER TABLE "experiment_failures" DROP CONSTRAINT "experiment_failures_namespace_id_experiment_id_variant_pk";--> statement-breakpoint
ALTER TABLE "experiment_failures" ADD COLUMN "minute" timestamp with time zone DEFAULT '-infinity' NOT NULL;--> statement-breakpoint
UPDATE "experiment_failures" SET "minute" = date_trunc('minute', "last_failed_at");--> statement-breakpoint
ALTER TABLE "experiment_failures" ADD CONSTRAINT "experiment_failures_namespace_id_experiment_id_variant_minute_pk" PRIMARY KEY("namespace_id","experiment_id","variant","minute");