CREATE TABLE "rec_traces" (
	"namespace_id" text NOT NULL,
	"request_id" text NOT NULL,
	"surface" text NOT NULL,
	"user_hash" text,
	"anonymous_hash" text,
	"config_version" integer,
	"experiment" text,
	"variant" text,
	"item_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"rule_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"trace" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rec_traces_namespace_id_request_id_pk" PRIMARY KEY("namespace_id","request_id")
);
--> statement-breakpoint
ALTER TABLE "namespaces" ADD COLUMN "trace_salt" text DEFAULT (gen_random_uuid()::text) NOT NULL;--> statement-breakpoint
CREATE INDEX "rec_traces_ns_created_idx" ON "rec_traces" USING btree ("namespace_id","created_at");--> statement-breakpoint
CREATE INDEX "rec_traces_ns_user_idx" ON "rec_traces" USING btree ("namespace_id","user_hash");--> statement-breakpoint
CREATE INDEX "rec_traces_ns_anonymous_idx" ON "rec_traces" USING btree ("namespace_id","anonymous_hash");--> statement-breakpoint
CREATE INDEX "rec_traces_items_idx" ON "rec_traces" USING gin ("item_ids");--> statement-breakpoint
CREATE INDEX "rec_traces_rules_idx" ON "rec_traces" USING gin ("rule_ids");