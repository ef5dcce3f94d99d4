ALTER TABLE "auth_one_time_tokens" DROP CONSTRAINT "auth_one_time_tokens_purpose_check";--> statement-breakpoint
ALTER TABLE "auth_users" ALTER COLUMN "password_hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "auth_refresh_tokens" ADD COLUMN "session_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "auth_one_time_tokens" ADD CONSTRAINT "auth_one_time_tokens_purpose_check" CHECK ("auth_one_time_tokens"."purpose" in ('verify_email', 'reset_password', 'accept_invitation'));