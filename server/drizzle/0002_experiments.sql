CREATE TABLE "experiment_changes" (
	"namespace_id" text NOT NULL,
	"experiment_id" text NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "experiment_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"action" text NOT NULL,
	"from_status" text,
	"to_status" text,
	"actor" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "experiment_changes_namespace_id_id_pk" PRIMARY KEY("namespace_id","id")
);
--> statement-breakpoint
CREATE TABLE "experiments" (
	"namespace_id" text NOT NULL,
	"id" text NOT NULL,
	"name" text NOT NULL,
	"hypothesis" text,
	"status" text DEFAULT 'draft' NOT NULL,
	"salt" text NOT NULL,
	"traffic" double precision DEFAULT 1 NOT NULL,
	"variants" jsonb NOT NULL,
	"target" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"primary_metric" text NOT NULL,
	"minimum_detectable_effect" double precision DEFAULT 0.05 NOT NULL,
	"guardrails" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"breach_streak" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "experiments_namespace_id_id_pk" PRIMARY KEY("namespace_id","id")
);
--> statement-breakpoint
ALTER TABLE "rec_logs" ADD COLUMN "experiment_id" text;--> statement-breakpoint
ALTER TABLE "rec_logs" ADD COLUMN "variant" text;--> statement-breakpoint
ALTER TABLE "experiments" ADD CONSTRAINT "experiments_namespace_id_namespaces_id_fk" FOREIGN KEY ("namespace_id") REFERENCES "public"."namespaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "experiment_changes_exp_idx" ON "experiment_changes" USING btree ("namespace_id","experiment_id");--> statement-breakpoint
CREATE INDEX "rec_logs_ns_experiment_idx" ON "rec_logs" USING btree ("namespace_id","experiment_id","variant");