CREATE TABLE "aliases" (
	"namespace_id" text NOT NULL,
	"anonymous_id" text NOT NULL,
	"user_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "aliases_namespace_id_anonymous_id_pk" PRIMARY KEY("namespace_id","anonymous_id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"namespace_id" text NOT NULL,
	"id" text NOT NULL,
	"kind" text NOT NULL,
	"hash" text NOT NULL,
	"label" text,
	"allowed_origins" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_namespace_id_id_pk" PRIMARY KEY("namespace_id","id")
);
--> statement-breakpoint
CREATE TABLE "changes" (
	"namespace_id" text NOT NULL,
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "changes_namespace_id_id_pk" PRIMARY KEY("namespace_id","id")
);
--> statement-breakpoint
CREATE TABLE "engine_configs" (
	"namespace_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text,
	"config" jsonb NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "engine_configs_namespace_id_version_pk" PRIMARY KEY("namespace_id","version")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"namespace_id" text NOT NULL,
	"event_id" text NOT NULL,
	"type" text NOT NULL,
	"item_id" text,
	"user_id" text,
	"anonymous_id" text,
	"session_id" text,
	"ts" timestamp with time zone NOT NULL,
	"client_ts" timestamp with time zone,
	"received_at" timestamp with time zone NOT NULL,
	"value" double precision,
	"meta" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "events_namespace_id_event_id_pk" PRIMARY KEY("namespace_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "item_embeddings" (
	"namespace_id" text NOT NULL,
	"item_id" text NOT NULL,
	"model_id" text NOT NULL,
	"text_hash" text NOT NULL,
	"vector" "bytea" NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "item_embeddings_namespace_id_item_id_model_id_pk" PRIMARY KEY("namespace_id","item_id","model_id")
);
--> statement-breakpoint
CREATE TABLE "items" (
	"namespace_id" text NOT NULL,
	"item_id" text NOT NULL,
	"title" text,
	"description" text,
	"price" double precision,
	"currency" text,
	"available" boolean DEFAULT true NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"props" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"parent_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"archived_at" timestamp with time zone,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "items_namespace_id_item_id_pk" PRIMARY KEY("namespace_id","item_id")
);
--> statement-breakpoint
CREATE TABLE "namespaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"active_config_version" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rec_logs" (
	"namespace_id" text NOT NULL,
	"request_id" text NOT NULL,
	"surface" text NOT NULL,
	"user_id" text,
	"anonymous_id" text,
	"items" jsonb NOT NULL,
	"fallback" boolean DEFAULT false NOT NULL,
	"config_version" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rec_logs_namespace_id_request_id_pk" PRIMARY KEY("namespace_id","request_id")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"namespace_id" text NOT NULL,
	"user_id" text NOT NULL,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL,
	CONSTRAINT "users_namespace_id_user_id_pk" PRIMARY KEY("namespace_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_namespace_id_namespaces_id_fk" FOREIGN KEY ("namespace_id") REFERENCES "public"."namespaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "aliases_ns_user_idx" ON "aliases" USING btree ("namespace_id","user_id");--> statement-breakpoint
CREATE INDEX "aliases_tx_idx" ON "aliases" USING btree ("tx");--> statement-breakpoint
CREATE INDEX "changes_tx_idx" ON "changes" USING btree ("tx");--> statement-breakpoint
CREATE INDEX "events_tx_idx" ON "events" USING btree ("tx");--> statement-breakpoint
CREATE INDEX "events_ns_ts_idx" ON "events" USING btree ("namespace_id","ts");--> statement-breakpoint
CREATE INDEX "events_ns_user_idx" ON "events" USING btree ("namespace_id","user_id");--> statement-breakpoint
CREATE INDEX "events_ns_anon_idx" ON "events" USING btree ("namespace_id","anonymous_id");--> statement-breakpoint
CREATE INDEX "events_ns_item_idx" ON "events" USING btree ("namespace_id","item_id");--> statement-breakpoint
CREATE INDEX "item_embeddings_tx_idx" ON "item_embeddings" USING btree ("tx");--> statement-breakpoint
CREATE INDEX "items_tx_idx" ON "items" USING btree ("tx");--> statement-breakpoint
CREATE INDEX "items_ns_updated_idx" ON "items" USING btree ("namespace_id","updated_at");--> statement-breakpoint
CREATE INDEX "rec_logs_ns_user_idx" ON "rec_logs" USING btree ("namespace_id","user_id");--> statement-breakpoint
CREATE INDEX "rec_logs_ns_created_idx" ON "rec_logs" USING btree ("namespace_id","created_at");--> statement-breakpoint
CREATE INDEX "users_tx_idx" ON "users" USING btree ("tx");