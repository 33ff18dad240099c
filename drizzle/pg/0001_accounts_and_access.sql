CREATE TABLE "console_account_addresses" (
	"account_id" integer NOT NULL,
	"address" varchar(320) NOT NULL,
	"is_primary" boolean DEFAULT false NOT NULL,
	CONSTRAINT "console_account_addresses_account_id_address_pk" PRIMARY KEY("account_id","address")
);
--> statement-breakpoint
CREATE TABLE "console_api_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"account_id" integer NOT NULL,
	"name" varchar(100) NOT NULL,
	"token_hash" varchar(64) NOT NULL,
	"prefix" varchar(16) NOT NULL,
	"access" varchar(16) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "console_api_tokens_hash_key" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "console_domain_aliases" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" varchar(255) NOT NULL,
	"domain_id" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "console_domain_aliases_name_key" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "console_sessions" (
	"id" varchar(64) PRIMARY KEY NOT NULL,
	"kind" varchar(16) NOT NULL,
	"account_id" integer,
	"partition_tag" integer,
	"mail_id" varchar(16),
	"recipient" varchar(320),
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ip" varchar(64),
	"user_agent" varchar(255)
);
--> statement-breakpoint
DROP INDEX "console_audit_log_actor_idx";--> statement-breakpoint
ALTER TABLE "console_accounts" ADD COLUMN "auth_source" varchar(16) DEFAULT 'local' NOT NULL;--> statement-breakpoint
ALTER TABLE "console_accounts" ADD COLUMN "last_login_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "console_audit_log" ADD COLUMN "outcome" varchar(16) DEFAULT 'success' NOT NULL;--> statement-breakpoint
ALTER TABLE "console_audit_log" ADD COLUMN "domain" varchar(255);--> statement-breakpoint
ALTER TABLE "console_account_addresses" ADD CONSTRAINT "console_account_addresses_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_api_tokens" ADD CONSTRAINT "console_api_tokens_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_domain_aliases" ADD CONSTRAINT "console_domain_aliases_domain_id_console_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."console_domains"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_sessions" ADD CONSTRAINT "console_sessions_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_account_addresses_address_idx" ON "console_account_addresses" USING btree ("address");--> statement-breakpoint
CREATE INDEX "console_api_tokens_account_idx" ON "console_api_tokens" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "console_sessions_account_idx" ON "console_sessions" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "console_sessions_expires_idx" ON "console_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "console_audit_log_domain_idx" ON "console_audit_log" USING btree ("domain","at");--> statement-breakpoint
CREATE INDEX "console_audit_log_actor_idx" ON "console_audit_log" USING btree ("actor_account_id","at");