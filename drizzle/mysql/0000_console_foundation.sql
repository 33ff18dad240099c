CREATE TABLE `console_accounts` (
	`id` int AUTO_INCREMENT NOT NULL,
	`email` varchar(320) NOT NULL,
	`display_name` varchar(255) NOT NULL DEFAULT '',
	`role` varchar(16) NOT NULL,
	`password_hash` varchar(255),
	`disabled` boolean NOT NULL DEFAULT false,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `console_accounts_id` PRIMARY KEY(`id`),
	CONSTRAINT `console_accounts_email_key` UNIQUE(`email`)
);
--> statement-breakpoint
CREATE TABLE `console_audit_log` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`actor_account_id` int,
	`actor` varchar(320) NOT NULL,
	`action` varchar(64) NOT NULL,
	`target` text NOT NULL,
	`detail` json,
	`ip` varchar(64),
	CONSTRAINT `console_audit_log_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `console_domain_admins` (
	`account_id` int NOT NULL,
	`domain_id` int NOT NULL,
	CONSTRAINT `console_domain_admins_account_id_domain_id_pk` PRIMARY KEY(`account_id`,`domain_id`)
);
--> statement-breakpoint
CREATE TABLE `console_domains` (
	`id` int AUTO_INCREMENT NOT NULL,
	`name` varchar(255) NOT NULL,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `console_domains_id` PRIMARY KEY(`id`),
	CONSTRAINT `console_domains_name_key` UNIQUE(`name`)
);
--> statement-breakpoint
CREATE TABLE `console_settings` (
	`key` varchar(64) NOT NULL,
	`value` json NOT NULL,
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `console_settings_key` PRIMARY KEY(`key`)
);
--> statement-breakpoint
ALTER TABLE `console_domain_admins` ADD CONSTRAINT `console_domain_admins_account_id_console_accounts_id_fk` FOREIGN KEY (`account_id`) REFERENCES `console_accounts`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE `console_domain_admins` ADD CONSTRAINT `console_domain_admins_domain_id_console_domains_id_fk` FOREIGN KEY (`domain_id`) REFERENCES `console_domains`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `console_audit_log_at_idx` ON `console_audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `console_audit_log_actor_idx` ON `console_audit_log` (`actor_account_id`);