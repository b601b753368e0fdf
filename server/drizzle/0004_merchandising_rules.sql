CREATE TABLE "rule_changes" (
	"namespace_id" text NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "rule_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"rule_id" text NOT NULL,
	"version" integer NOT NULL,
	"action" text NOT NULL,
	"definition" jsonb NOT NULL,
	"enabled" boolean NOT NULL,
	"actor" text NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rule_changes_namespace_id_id_pk" PRIMARY KEY("namespace_id","id")
);
--> statement-breakpoint
CREATE TABLE "rules" (
	"namespace_id" text NOT NULL,
	"rule_id" text NOT NULL,
	"origin" text DEFAULT 'rule' NOT NULL,
	"kind" text NOT NULL,
	"definition" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"reason" text,
	"expires_at" timestamp with time zone,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text NOT NULL,
	CONSTRAINT "rules_namespace_id_rule_id_pk" PRIMARY KEY("namespace_id","rule_id")
);
--> statement-breakpoint
CREATE INDEX "rule_changes_ns_rule_idx" ON "rule_changes" USING btree ("namespace_id","rule_id");