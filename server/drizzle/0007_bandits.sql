CREATE TABLE "experiment_allocations" (
	"namespace_id" text NOT NULL,
	"experiment_id" text NOT NULL,
	"seq" integer NOT NULL,
	"weights" jsonb NOT NULL,
	"arms" jsonb NOT NULL,
	"actor" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "experiment_allocations_namespace_id_experiment_id_seq_pk" PRIMARY KEY("namespace_id","experiment_id","seq")
);
--> statement-breakpoint
ALTER TABLE "experiments" ADD COLUMN "allocation" text DEFAULT 'fixed' NOT NULL;--> statement-breakpoint
ALTER TABLE "experiments" ADD COLUMN "bandit" jsonb;