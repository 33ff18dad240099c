CREATE TABLE `console_action_tokens` (
	`id` varchar(64) NOT NULL,
	`account_id` int,
	`partition_tag` int NOT NULL,
	`mail_id` varchar(16) NOT NULL,
	`rseqnum` int NOT NULL,
	`recipient` varchar(320) NOT NULL,
	`action` varchar(16) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`expires_at` datetime(3) NOT NULL,
	`used_at` datetime(3),
	`used_ip` varchar(64),
	CONSTRAINT `console_action_tokens_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `console_job_runs` (
	`id` int AUTO_INCREMENT NOT NULL,
	`job` varchar(32) NOT NULL,
	`origin` varchar(16) NOT NULL,
	`started_by` varchar(320),
	`holder` varchar(128) NOT NULL,
	`dry_run` boolean NOT NULL DEFAULT false,
	`started_at` datetime(3) NOT NULL,
	`finished_at` datetime(3),
	`outcome` varchar(16) NOT NULL,
	`counts` json,
	`error` text,
	CONSTRAINT `console_job_runs_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `console_leases` (
	`name` varchar(64) NOT NULL,
	`holder` varchar(128) NOT NULL,
	`acquired_at` datetime(3) NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	CONSTRAINT `console_leases_name` PRIMARY KEY(`name`)
);
--> statement-breakpoint
CREATE TABLE `console_quarantine_events` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`kind` varchar(32) NOT NULL,
	`partition_tag` int NOT NULL,
	`mail_id` varchar(16) NOT NULL,
	`rseqnum` int NOT NULL,
	`recipient` varchar(320) NOT NULL,
	`recipient_domain` varchar(255) NOT NULL,
	`status` varchar(1),
	`actor` varchar(320),
	CONSTRAINT `console_quarantine_events_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `console_sender_list_entries` (
	`owner` varchar(191) NOT NULL,
	`sender` varchar(191) NOT NULL,
	`created_by_account_id` int,
	`created_by` varchar(320) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`expires_at` datetime(3),
	CONSTRAINT `console_sender_list_entries_owner_sender_pk` PRIMARY KEY(`owner`,`sender`)
);
--> statement-breakpoint
CREATE TABLE `console_user_preferences` (
	`account_id` int NOT NULL,
	`page_size` int,
	`language` varchar(16),
	`time_zone` varchar(64),
	`digest_enabled` boolean NOT NULL DEFAULT false,
	`digest_frequency` varchar(16) NOT NULL DEFAULT 'daily',
	`digest_minute` int NOT NULL DEFAULT 480,
	`digest_weekday` int,
	`last_digest_at` datetime(3),
	`next_digest_at` datetime(3),
	CONSTRAINT `console_user_preferences_account_id` PRIMARY KEY(`account_id`)
);
--> statement-breakpoint
ALTER TABLE `console_action_tokens` ADD CONSTRAINT `console_action_tokens_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_user_preferences` ADD CONSTRAINT `console_user_preferences_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `console_action_tokens_expires_idx` ON `console_action_tokens` (`expires_at`);--> statement-breakpoint
CREATE INDEX `console_job_runs_job_idx` ON `console_job_runs` (`job`,`started_at`);--> statement-breakpoint
CREATE INDEX `console_quarantine_events_at_idx` ON `console_quarantine_events` (`at`);--> statement-breakpoint
CREATE INDEX `console_sender_list_entries_expires_idx` ON `console_sender_list_entries` (`expires_at`);