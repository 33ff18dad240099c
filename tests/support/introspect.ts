// Describes tables two ways in one normalised shape: from a live database's catalog, and from the
// drizzle definitions. Comparing the two proves the definitions match what amavisd's DDL creates.

import { is, SQL, sql } from 'drizzle-orm';
import { type MySqlTable, getTableConfig as mysqlConfig } from 'drizzle-orm/mysql-core';
import { type PgTable, getTableConfig as pgConfig } from 'drizzle-orm/pg-core';
import type { Connection } from '../../server/db/database.ts';

export interface ColumnShape {
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  /** Unique constraints and unique indexes, as sorted column lists. */
  unique: string[][];
  /** Non-unique indexes by name. */
  indexes: Record<string, string[]>;
  /** Foreign keys as "col -> table(col)". */
  foreignKeys: string[];
}

const sortLists = (lists: string[][]) =>
  lists
    .map((l) => l.join(','))
    .sort()
    .map((l) => l.split(','));

function normaliseType(dialect: 'pg' | 'mysql', type: string): string {
  const t = type.toLowerCase().trim();
  if (dialect === 'mysql')
    return t.replace(/^(tinyint|smallint|int|bigint)\(\d+\)/, '$1').replace(/\s+/g, ' ');
  return t
    .replace(/^character varying/, 'varchar')
    .replace(/^character\((\d+)\)/, 'char($1)')
    .replace(/^timestamptz$/, 'timestamp with time zone');
}

/** MariaDB pads CHAR defaults away (' ' reads back as ''), as it does CHAR values. */
function charDefault(type: string, value: string | null): string | null {
  return value !== null && /^char\(/.test(type) ? value.replace(/^'\s*'$/, "''") : value;
}

function normaliseDefault(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  let v = value.trim().replace(/::[a-z ]+(\(\d+\))?$/i, '');
  if (v === 'NULL') return null;
  if (v === "'\\x'") v = "''";
  return v;
}

function drizzleDefault(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (is(value, SQL)) {
    return normaliseDefault(
      value.queryChunks.map((chunk) => (chunk as { value?: string[] }).value?.join('') ?? '').join(''),
    );
  }
  if (typeof value === 'number') return String(value);
  return `'${String(value)}'`;
}

export function describeDefinition(dialect: 'pg' | 'mysql', table: PgTable | MySqlTable): TableShape {
  const config = dialect === 'pg' ? pgConfig(table as PgTable) : mysqlConfig(table as MySqlTable);
  const columns: Record<string, ColumnShape> = {};
  const primary = config.primaryKeys[0]?.columns.map((c) => c.name) ?? [];
  for (const column of config.columns) {
    const sqlType = column.getSQLType();
    const serial = sqlType === 'serial' || (column as { autoIncrement?: boolean }).autoIncrement;
    columns[column.name] = {
      type: normaliseType(dialect, sqlType),
      notNull: column.notNull || column.primary || primary.includes(column.name),
      default: serial
        ? null
        : dialect === 'mysql'
          ? charDefault(normaliseType(dialect, sqlType), drizzleDefault(column.default))
          : drizzleDefault(column.default),
    };
    if (column.primary) primary.push(column.name);
  }
  const unique: string[][] = config.uniqueConstraints.map((u) => u.columns.map((c) => c.name));
  for (const column of config.columns) if (column.isUnique) unique.push([column.name]);
  if (dialect === 'pg' && primary.length > 0) unique.push([...primary]);
  const indexes: Record<string, string[]> = {};
  for (const index of config.indexes) {
    const cfg = index.config as { name?: string; unique?: boolean; columns: { name: string }[] };
    if (cfg.unique) unique.push(cfg.columns.map((c) => c.name));
    else indexes[cfg.name ?? '?'] = cfg.columns.map((c) => c.name);
  }
  const foreignKeys = config.foreignKeys.map((fk) => {
    const ref = fk.reference();
    return `${ref.columns.map((c) => c.name).join(',')} -> ${
      dialect === 'pg'
        ? pgConfig(ref.foreignTable as PgTable).name
        : mysqlConfig(ref.foreignTable as MySqlTable).name
    }(${ref.foreignColumns.map((c) => c.name).join(',')})`;
  });
  return {
    columns,
    primaryKey: primary,
    unique: sortLists(unique),
    indexes,
    foreignKeys: foreignKeys.sort(),
  };
}

export async function describeLiveTable(connection: Connection, table: string): Promise<TableShape> {
  if (connection.dialect === 'pg') {
    const columns = await connection.rows<{
      name: string;
      type: string;
      nullable: string;
      default: string | null;
    }>(sql`
      select a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
             case when a.attnotnull then 'NO' else 'YES' end as nullable,
             pg_get_expr(d.adbin, d.adrelid) as default
      from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = ${table}::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`);
    const constraints = await connection.rows<{ type: string; columns: string[]; def: string }>(sql`
      select c.contype as type, pg_get_constraintdef(c.oid) as def,
             array(select att.attname from unnest(c.conkey) with ordinality k(n, i)
                   join pg_attribute att on att.attrelid = c.conrelid and att.attnum = k.n order by k.i)::text[] as columns
      from pg_constraint c where c.conrelid = ${table}::regclass`);
    const indexes = await connection.rows<{
      name: string;
      columns: string[];
      unique: boolean;
      constraint: boolean;
    }>(sql`
      select i.relname as name, x.indisunique as unique,
             exists(select 1 from pg_constraint c where c.conindid = x.indexrelid) as constraint,
             array(select att.attname from unnest(x.indkey) with ordinality k(n, o)
                   join pg_attribute att on att.attrelid = x.indrelid and att.attnum = k.n order by k.o)::text[] as columns
      from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = ${table}::regclass`);
    const shape: TableShape = { columns: {}, primaryKey: [], unique: [], indexes: {}, foreignKeys: [] };
    for (const c of columns) {
      const serial = c.default?.startsWith('nextval(') ?? false;
      shape.columns[c.name] = {
        type: serial ? 'serial' : normaliseType('pg', c.type),
        notNull: c.nullable === 'NO',
        default: serial ? null : normaliseDefault(c.default),
      };
    }
    for (const c of constraints) {
      if (c.type === 'p') shape.primaryKey = c.columns;
      if (c.type === 'p' || c.type === 'u') shape.unique.push(c.columns);
      if (c.type === 'f') {
        const m = /REFERENCES (\w+)\((\w+)\)/.exec(c.def);
        shape.foreignKeys.push(`${c.columns.join(',')} -> ${m?.[1]}(${m?.[2]})`);
      }
    }
    for (const i of indexes) {
      if (i.constraint) continue;
      if (i.unique) shape.unique.push(i.columns);
      else shape.indexes[i.name] = i.columns;
    }
    shape.unique = sortLists(shape.unique);
    shape.foreignKeys.sort();
    return shape;
  }
  const columns = await connection.rows<{
    name: string;
    type: string;
    nullable: string;
    default: string | null;
    collation: string | null;
  }>(sql`
    select column_name as name, column_type as type, is_nullable as nullable, column_default as \`default\`,
           collation_name as collation
    from information_schema.columns where table_schema = database() and table_name = ${table}
    order by ordinal_position`);
  const stats = await connection.rows<{ name: string; nonUnique: number; column: string }>(sql`
    select index_name as name, non_unique as nonUnique, column_name as \`column\`
    from information_schema.statistics where table_schema = database() and table_name = ${table}
    order by index_name, seq_in_index`);
  const fks = await connection.rows<{ column: string; refTable: string; refColumn: string }>(sql`
    select column_name as \`column\`, referenced_table_name as refTable, referenced_column_name as refColumn
    from information_schema.key_column_usage
    where table_schema = database() and table_name = ${table} and referenced_table_name is not null`);
  const shape: TableShape = { columns: {}, primaryKey: [], unique: [], indexes: {}, foreignKeys: [] };
  for (const c of columns) {
    let type = normaliseType('mysql', c.type);
    if (c.collation === 'utf8mb4_bin') type = `${type} character set utf8mb4 collate utf8mb4_bin`;
    shape.columns[c.name] = {
      type,
      notNull: c.nullable === 'NO',
      default: charDefault(type, normaliseDefault(c.default)),
    };
  }
  const byIndex = new Map<string, { unique: boolean; columns: string[] }>();
  for (const s of stats) {
    const entry = byIndex.get(s.name) ?? { unique: Number(s.nonUnique) === 0, columns: [] };
    entry.columns.push(s.column);
    byIndex.set(s.name, entry);
  }
  for (const [name, index] of byIndex) {
    if (name === 'PRIMARY') shape.primaryKey = index.columns;
    else if (index.unique) shape.unique.push(index.columns);
    else shape.indexes[name] = index.columns;
  }
  shape.unique = sortLists(shape.unique);
  shape.foreignKeys = fks.map((f) => `${f.column} -> ${f.refTable}(${f.refColumn})`).sort();
  return shape;
}
