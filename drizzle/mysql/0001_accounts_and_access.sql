CREATE TABLE `console_account_addresses` (
	`account_id` int NOT NULL,
	`address` varchar(320) NOT NULL,
	`is_primary` boolean NOT NULL DEFAULT false,
	CONSTRAINT `console_account_addresses_account_id_address_pk` PRIMARY KEY(`account_id`,`address`)
);
--> statement-breakpoint
CREATE TABLE `console_api_tokens` (
	`id` int AUTO_INCREMENT NOT NULL,
	`account_id` int NOT NULL,
	`name` varchar(100) NOT NULL,
	`token_hash` varchar(64) NOT NULL,
	`prefix` varchar(16) NOT NULL,
	`access` varchar(16) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`expires_at` datetime(3),
	`last_used_at` datetime(3),
	`revoked_at` datetime(3),
	CONSTRAINT `console_api_tokens_id` PRIMARY KEY(`id`),
	CONSTRAINT `console_api_tokens_hash_key` UNIQUE(`token_hash`)
);
--> statement-breakpoint
CREATE TABLE `console_domain_aliases` (
	`id` int AUTO_INCREMENT NOT NULL,
	`name` varchar(255) NOT NULL,
	`domain_id` int NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `console_domain_aliases_id` PRIMARY KEY(`id`),
	CONSTRAINT `console_domain_aliases_name_key` UNIQUE(`name`)
);
--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`id` varchar(64) NOT NULL,
	`kind` varchar(16) NOT NULL,
	`account_id` int,
	`partition_tag` int,
	`mail_id` varchar(16),
	`recipient` varchar(320),
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`expires_at` datetime(3) NOT NULL,
	`last_seen_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`ip` varchar(64),
	`user_agent` varchar(255),
	CONSTRAINT `console_sessions_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
DROP INDEX `console_audit_log_actor_idx` ON `console_audit_log`;--> statement-breakpoint
ALTER TABLE `console_accounts` ADD `auth_source` varchar(16) DEFAULT 'local' NOT NULL;--> statement-breakpoint
ALTER TABLE `console_accounts` ADD `last_login_at` datetime(3);--> statement-breakpoint
ALTER TABLE `console_audit_log` ADD `outcome` varchar(16) DEFAULT 'success' NOT NULL;--> statement-breakpoint
ALTER TABLE `console_audit_log` ADD `domain` varchar(255);--> statement-breakpoint
ALTER TABLE `console_account_addresses` ADD CONSTRAINT `console_account_addresses_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_api_tokens` ADD CONSTRAINT `console_api_tokens_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_domain_aliases` ADD CONSTRAINT `console_domain_aliases_domain_id_console_domains_id_fk` FOREIGN KEY (`domain_id`) REFERENCES `console_domains`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_sessions` ADD CONSTRAINT `console_sessions_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `console_account_addresses_address_idx` ON `console_account_addresses` (`address`);--> statement-breakpoint
CREATE INDEX `console_api_tokens_account_idx` ON `console_api_tokens` (`account_id`);--> statement-breakpoint
CREATE INDEX `console_sessions_account_idx` ON `console_sessions` (`account_id`);--> statement-breakpoint
CREATE INDEX `console_sessions_expires_idx` ON `console_sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `console_audit_log_domain_idx` ON `console_audit_log` (`domain`,`at`);--> statement-breakpoint
CREATE INDEX `console_audit_log_actor_idx` ON `console_audit_log` (`actor_account_id`,`at`);