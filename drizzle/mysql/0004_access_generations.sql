CREATE TABLE `console_generations` (
	`name` varchar(64) NOT NULL,
	`value` bigint NOT NULL,
	CONSTRAINT `console_generations_name` PRIMARY KEY(`name`)
);
