CREATE TABLE "console_accounts" (
	"id" serial PRIMARY KEY NOT NULL,
	"email" varchar(320) NOT NULL,
	"display_name" varchar(255) DEFAULT '' NOT NULL,
	"role" varchar(16) NOT NULL,
	"password_hash" varchar(255),
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "console_accounts_email_key" UNIQUE("email")
);
--> statement-breakpoint
CREATE TABLE "console_audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_account_id" integer,
	"actor" varchar(320) NOT NULL,
	"action" varchar(64) NOT NULL,
	"target" text DEFAULT '' NOT NULL,
	"detail" jsonb,
	"ip" varchar(64)
);
--> statement-breakpoint
CREATE TABLE "console_domain_admins" (
	"account_id" integer NOT NULL,
	"domain_id" integer NOT NULL,
	CONSTRAINT "console_domain_admins_account_id_domain_id_pk" PRIMARY KEY("account_id","domain_id")
);
--> statement-breakpoint
CREATE TABLE "console_domains" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" varchar(255) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "console_domains_name_key" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "console_settings" (
	"key" varchar(64) PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "console_domain_admins" ADD CONSTRAINT "console_domain_admins_account_id_console_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."console_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_domain_admins" ADD CONSTRAINT "console_domain_admins_domain_id_console_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."console_domains"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_audit_log_at_idx" ON "console_audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "console_audit_log_actor_idx" ON "console_audit_log" USING btree ("actor_account_id");