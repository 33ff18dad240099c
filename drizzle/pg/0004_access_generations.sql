CREATE TABLE "console_generations" (
	"name" varchar(64) PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
