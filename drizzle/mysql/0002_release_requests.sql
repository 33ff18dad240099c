CREATE TABLE `console_domain_release_rules` (
	`domain_id` int NOT NULL,
	`content_kind` varchar(16) NOT NULL,
	`permission` varchar(16) NOT NULL,
	CONSTRAINT `console_domain_release_rules_domain_id_content_kind_pk` PRIMARY KEY(`domain_id`,`content_kind`)
);
--> statement-breakpoint
CREATE TABLE `console_release_requests` (
	`id` int AUTO_INCREMENT NOT NULL,
	`partition_tag` int NOT NULL,
	`mail_id` varchar(16) NOT NULL,
	`rseqnum` int NOT NULL,
	`recipient` varchar(320) NOT NULL,
	`recipient_domain` varchar(255) NOT NULL,
	`subject` varchar(255) NOT NULL DEFAULT '',
	`sender` varchar(320) NOT NULL DEFAULT '',
	`content_code` varchar(1) NOT NULL DEFAULT '',
	`status` varchar(16) NOT NULL,
	`pending_key` varchar(64),
	`requested_by_account_id` int,
	`requested_by` varchar(320) NOT NULL,
	`notify_address` varchar(320) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`decided_by_account_id` int,
	`decided_by` varchar(320),
	`decided_at` datetime(3),
	`reason` text,
	CONSTRAINT `console_release_requests_id` PRIMARY KEY(`id`),
	CONSTRAINT `console_release_requests_pending_key` UNIQUE(`pending_key`)
);
--> statement-breakpoint
ALTER TABLE `console_domain_release_rules` ADD CONSTRAINT `console_domain_release_rules_domain_id_console_domains_id_fk` FOREIGN KEY (`domain_id`) REFERENCES `console_domains`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_release_requests` ADD CONSTRAINT `console_release_requests_requester_fk` FOREIGN KEY (`requested_by_account_id`) REFERENCES `console_accounts`(`id`) ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_release_requests` ADD CONSTRAINT `console_release_requests_decider_fk` FOREIGN KEY (`decided_by_account_id`) REFERENCES `console_accounts`(`id`) ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `console_release_requests_status_idx` ON `console_release_requests` (`status`,`recipient_domain`,`created_at`);--> statement-breakpoint
CREATE INDEX `console_release_requests_entry_idx` ON `console_release_requests` (`partition_tag`,`mail_id`,`rseqnum`);--> statement-breakpoint
CREATE INDEX `console_release_requests_requester_idx` ON `console_release_requests` (`requested_by_account_id`,`created_at`);