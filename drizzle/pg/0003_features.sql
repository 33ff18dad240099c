CREATE TABLE "console_action_tokens" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"account_id" integer,
	"partition_tag" integer NOT NULL,
	"mail_id" varchar(16) NOT NULL,
	"rseqnum" integer NOT NULL,
	"recipient" varchar(320) NOT NULL,
	"action" varchar(16) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_ip" varchar(64)
);
--> statement-breakpoint
CREATE TABLE "console_job_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"job" varchar(32) NOT NULL,
	"origin" varchar(16) NOT NULL,
	"started_by" varchar(320),
	"holder" varchar(128) NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" varchar(16) NOT NULL,
	"counts" jsonb,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "console_leases" (
	"name" varchar(64) PRIMARY KEY NOT NULL,
	"holder" varchar(128) NOT NULL,
	"acquired_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console_quarantine_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" varchar(32) NOT NULL,
	"partition_tag" integer NOT NULL,
	"mail_id" varchar(16) NOT NULL,
	"rseqnum" integer NOT NULL,
	"recipient" varchar(320) NOT NULL,
	"recipient_domain" varchar(255) NOT NULL,
	"status" varchar(1),
	"actor" varchar(320)
);
--> statement-breakpoint
CREATE TABLE "console_sender_list_entries" (
	"owner" varchar(320) NOT NULL,
	"sender" varchar(320) NOT NULL,
	"created_by_account_id" integer,
	"created_by" varchar(320) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	CONSTRAINT "console_sender_list_entries_owner_sender_pk" PRIMARY KEY("owner","sender")
);
--> statement-breakpoint
CREATE TABLE "console_user_preferences" (
	"account_id" integer PRIMARY KEY NOT NULL,
	"page_size" integer,
	"language" varchar(16),
	"time_zone" varchar(64),
	"digest_enabled" boolean DEFAULT false NOT NULL,
	"digest_frequency" varchar(16) DEFAULT 'daily' NOT NULL,
	"digest_minute" integer DEFAULT 480 NOT NULL,
	"digest_weekday" integer,
	"last_digest_at" timestamp with time zone,
	"next_digest_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "console_action_tokens" ADD CONSTRAINT "console_action_tokens_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_user_preferences" ADD CONSTRAINT "console_user_preferences_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_action_tokens_expires_idx" ON "console_action_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_job_runs_job_idx" ON "console_job_runs" USING btree ("job","started_at");--> statement-breakpoint
CREATE INDEX "console_quarantine_events_at_idx" ON "console_quarantine_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "console_sender_list_entries_expires_idx" ON "console_sender_list_entries" USING btree ("expires_at");