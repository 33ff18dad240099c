import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../schema.ts';

export function printSchemaFile(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
