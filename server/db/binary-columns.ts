// Binary column types shared by amavisd's table definitions and the listing accelerator's side table:
// bytes come back as Buffers, ASCII keys (mail_id, secret_id) as strings, whatever the driver hands over.
import { customType as mysqlCustomType } from 'drizzle-orm/mysql-core';
import { customType } from 'drizzle-orm/pg-core';
import { binaryToKey, keyToBinary, toBuffer } from './binary.ts';

export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
  fromDriver: toBuffer,
});

/** A bytea holding an ASCII key (mail_id, secret_id), exposed as a string. */
export const byteaKey = customType<{ data: string; driverData: Buffer }>({
  dataType: () => 'bytea',
  toDriver: keyToBinary,
  fromDriver: binaryToKey,
});

export const varbinary = mysqlCustomType<{ data: Buffer; driverData: Buffer; config: { length: number } }>({
  dataType: (config) => `varbinary(${config?.length ?? 255})`,
  fromDriver: toBuffer,
});

/** A varbinary holding an ASCII key, exposed as a string. */
export const varbinaryKey = mysqlCustomType<{ data: string; driverData: Buffer; config: { length: number } }>(
  {
    dataType: (config) => `varbinary(${config?.length ?? 16})`,
    toDriver: keyToBinary,
    fromDriver: binaryToKey,
  },
);
