CREATE TABLE "conversations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"title" text NOT NULL,
	"provider" text,
	"model" text,
	"system_prompt" text,
	"source" text DEFAULT 'chat' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_source_check" CHECK ("conversations"."source" in ('chat', 'api'))
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"conversation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"provider" text,
	"model" text,
	"input_tokens" integer,
	"output_tokens" integer,
	"estimated" boolean,
	"cost_micro_usd" bigint,
	"status" text,
	"time_to_first_token_ms" integer,
	"duration_ms" integer,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_role_check" CHECK ("messages"."role" in ('user', 'assistant')),
	CONSTRAINT "messages_status_check" CHECK ("messages"."status" is null or "messages"."status" in ('completed', 'failed', 'aborted', 'truncated'))
);
--> statement-breakpoint
CREATE TABLE "chat_usage_periods" (
	"period_start" timestamp with time zone PRIMARY KEY NOT NULL,
	"used_tokens" bigint DEFAULT 0 NOT NULL,
	"reserved_tokens" bigint DEFAULT 0 NOT NULL,
	"notified_threshold" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "chat_usage_periods_non_negative" CHECK ("chat_usage_periods"."used_tokens" >= 0 and "chat_usage_periods"."reserved_tokens" >= 0)
);
--> statement-breakpoint
CREATE TABLE "chat_user_usage" (
	"period_start" timestamp with time zone NOT NULL,
	"user_id" uuid NOT NULL,
	"used_tokens" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "chat_user_usage_period_start_user_id_pk" PRIMARY KEY("period_start","user_id")
);
--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversations_user_created_idx" ON "conversations" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_conversation_created_idx" ON "messages" USING btree ("conversation_id","created_at","id");