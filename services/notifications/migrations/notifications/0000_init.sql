CREATE TABLE "deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"event_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"recipient" text NOT NULL,
	"template" text NOT NULL,
	"template_version" integer NOT NULL,
	"category" text NOT NULL,
	"data" jsonb NOT NULL,
	"message_id" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"smtp_response" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp (3) with time zone,
	CONSTRAINT "deliveries_state_check" CHECK ("deliveries"."state" in ('queued', 'sending', 'sent', 'retrying', 'dead'))
);
--> statement-breakpoint
CREATE TABLE "known_users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "preferences" (
	"email" text NOT NULL,
	"category" text NOT NULL,
	"enabled" boolean NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "preferences_email_category_pk" PRIMARY KEY("email","category")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_event_recipient_idx" ON "deliveries" USING btree ("event_id","recipient");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("next_attempt_at") WHERE state in ('queued', 'retrying');--> statement-breakpoint
CREATE INDEX "deliveries_state_created_idx" ON "deliveries" USING btree ("state","created_at");--> statement-breakpoint
CREATE INDEX "known_users_role_idx" ON "known_users" USING btree ("role");