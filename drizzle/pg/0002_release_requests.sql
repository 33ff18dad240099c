CREATE TABLE "console_domain_release_rules" (
	"domain_id" integer NOT NULL,
	"content_kind" varchar(16) NOT NULL,
	"permission" varchar(16) NOT NULL,
	CONSTRAINT "console_domain_release_rules_domain_id_content_kind_pk" PRIMARY KEY("domain_id","content_kind")
);
--> statement-breakpoint
CREATE TABLE "console_release_requests" (
	"id" serial PRIMARY KEY NOT NULL,
	"partition_tag" integer NOT NULL,
	"mail_id" varchar(16) NOT NULL,
	"rseqnum" integer NOT NULL,
	"recipient" varchar(320) NOT NULL,
	"recipient_domain" varchar(255) NOT NULL,
	"subject" varchar(255) DEFAULT '' NOT NULL,
	"sender" varchar(320) DEFAULT '' NOT NULL,
	"content_code" varchar(1) DEFAULT '' NOT NULL,
	"status" varchar(16) NOT NULL,
	"pending_key" varchar(64),
	"requested_by_account_id" integer,
	"requested_by" varchar(320) NOT NULL,
	"notify_address" varchar(320) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by_account_id" integer,
	"decided_by" varchar(320),
	"decided_at" timestamp with time zone,
	"reason" text,
	CONSTRAINT "console_release_requests_pending_key" UNIQUE("pending_key")
);
--> statement-breakpoint
ALTER TABLE "console_domain_release_rules" ADD CONSTRAINT "console_domain_release_rules_domain_id_console_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."console_domains"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_release_requests" ADD CONSTRAINT "console_release_requests_requester_fk" FOREIGN KEY ("requested_by_account_id") REFERENCES "public"."console_accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console_release_requests" ADD CONSTRAINT "console_release_requests_decider_fk" FOREIGN KEY ("decided_by_account_id") REFERENCES "public"."console_accounts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "console_release_requests_status_idx" ON "console_release_requests" USING btree ("status","recipient_domain","created_at");--> statement-breakpoint
CREATE INDEX "console_release_requests_entry_idx" ON "console_release_requests" USING btree ("partition_tag","mail_id","rseqnum");--> statement-breakpoint
CREATE INDEX "console_release_requests_requester_idx" ON "console_release_requests" USING btree ("requested_by_account_id","created_at");