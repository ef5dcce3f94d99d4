CREATE TABLE "profiles" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"display_name" text,
	"avatar_url" text,
	"locale" text,
	"timezone" text,
	"role" text DEFAULT 'member' NOT NULL,
	"preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profiles_role_check" CHECK ("profiles"."role" in ('owner', 'admin', 'member'))
);
--> statement-breakpoint
CREATE INDEX "profiles_created_at_user_id_idx" ON "profiles" USING btree ("created_at","user_id");