import fs from 'node:fs';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaFile } from '../../server/graphql/print.ts';
import { schema } from '../../server/schema.ts';

describe('schema.graphql', () => {
  it('is printed from the current code (run "npm run schema" when this fails)', () => {
    const committed = fs.readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSchemaFile());
  });

  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    const check = (where: string, description: string | null | undefined) => {
      if (!description?.trim()) missing.push(where);
    };
    const checkArgs = (where: string, args: readonly GraphQLArgument[]) => {
      for (const arg of args) check(`${where}(${arg.name})`, arg.description);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
      check(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
          check(`${type.name}.${field.name}`, field.description);
          checkArgs(`${type.name}.${field.name}`, field.args);
        }
      }
      if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields()) as GraphQLInputField[]) {
          check(`${type.name}.${field.name}`, field.description);
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
      }
    }
    expect(missing).toEqual([]);
  });
});
