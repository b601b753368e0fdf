CREATE TABLE "learned_encoders" (
	"namespace_id" text PRIMARY KEY NOT NULL,
	"model_id" text NOT NULL,
	"model" jsonb NOT NULL,
	"weights" "bytea" NOT NULL,
	"item_ids" jsonb NOT NULL,
	"item_vectors" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tx" bigint DEFAULT (pg_current_xact_id()::text::bigint) NOT NULL
);
