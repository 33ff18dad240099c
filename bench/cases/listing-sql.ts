// Hand-written SQL for the listing cases: the best keyset query for each view over the same structures the
// console may use (the raw lower bound), and modoboa-amavis's query shape for the same view (the reference;
// /work/shared/reference/modoboa-amavis-facts.md §5.1, §7.1).

import type { Setup } from './types.ts';

export interface View {
  /** Which rows: everything, one content code, one recipient domain, one address, a text. */
  kind: 'all' | 'type' | 'domain' | 'user' | 'text';
  contentCode?: string;
  /** The domain (domain view), as people write it. */
  domain?: string;
  /** The domain admin's own address (domain view) or the user's address (user view). */
  email?: string;
  text?: string;
}

export interface Keyset {
  timeNum: number;
  partitionTag: number;
  mailId: Buffer;
  rseqnum: number;
}

export interface Statement {
  text: string;
  params: unknown[];
}

class Params {
  readonly values: unknown[] = [];
  private readonly dialect: 'pg' | 'mysql';
  constructor(dialect: 'pg' | 'mysql') {
    this.dialect = dialect;
  }
  add(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'pg' ? `$${this.values.length}` : '?';
  }
}

const reversed = (domain: string) => domain.split('.').reverse().join('.');
const bytes = (text: string) => Buffer.from(text, 'utf8');

interface Aliases {
  r: string;
  a: string;
  snd: string;
  m: string;
}

const ALIASES: Aliases = { r: 'r', a: 'a', snd: 'snd', m: 'm' };

/** The check a row must pass on amavisd's tables (r, m, a = recipient, snd = sender) for the view. */
function rowCheck(
  dialect: 'pg' | 'mysql',
  view: View,
  p: Params,
  { r, a, snd, m }: Aliases = ALIASES,
): string {
  switch (view.kind) {
    case 'all':
      return '';
    case 'type':
      return dialect === 'pg'
        ? ` and ${r}.content = ${p.add(view.contentCode)}`
        : ` and ${r}.content = binary ${p.add(view.contentCode)}`;
    case 'domain':
      return ` and (${a}.domain = ${p.add(reversed(view.domain ?? ''))} or ${a}.email = ${p.add(bytes(view.email ?? ''))})`;
    case 'user':
      return ` and ${a}.email = ${p.add(bytes(view.email ?? ''))}`;
    case 'text': {
      const like = `%${(view.text ?? '').toLowerCase()}%`;
      if (dialect === 'pg') {
        return ` and (lower(convert_from(${snd}.email, 'LATIN1')) like ${p.add(like)}
                 or lower(convert_from(${a}.email, 'LATIN1')) like ${p.add(like)}
                 or lower(${m}.from_addr) like ${p.add(like)} or lower(${m}.subject) like ${p.add(like)})`;
      }
      return ` and (lower(convert(${snd}.email using utf8mb4)) like ${p.add(like)}
               or lower(convert(${a}.email using utf8mb4)) like ${p.add(like)}
               or lower(${m}.from_addr) like ${p.add(like)} or lower(${m}.subject) like ${p.add(like)})`;
    }
  }
}

/** The side-table rows a walk reads (listing accelerator). */
function sideDriver(view: View, p: Params): { where: string; index: string } {
  switch (view.kind) {
    case 'type':
      return { where: `s.content = ${p.add(view.contentCode)}`, index: 'amavis_console_listing_time' };
    case 'domain':
      return {
        where: `s.domain = ${p.add(reversed(view.domain ?? ''))}`,
        index: 'amavis_console_listing_domain',
      };
    case 'user':
      return { where: `s.email = ${p.add(bytes(view.email ?? ''))}`, index: 'amavis_console_listing_email' };
    default:
      return { where: '1 = 1', index: 'amavis_console_listing_time' };
  }
}

const COLUMNS = `m.partition_tag, m.mail_id, r.rseqnum, m.time_num, a.email as recipient_email,
  snd.email as sender_email, m.from_addr, m.subject, m.size, r.content, r.rs, r.bspam_level`;

/**
 * The raw lower bound: with the accelerator, a walk over the side table in date order that checks each
 * row against amavisd's tables (PostgreSQL in a LATERAL subquery, MariaDB with STRAIGHT_JOIN and primary
 * keys); without it, on PostgreSQL a walk over msgs_idx_time_num checking each message's recipients in a
 * LATERAL subquery for the views without a recipient restriction, otherwise the plain keyset join; on
 * MariaDB a page of message keys walked in date order, then their rows (its plain join sorts everything).
 */
export function rawListing(
  dialect: 'pg' | 'mysql',
  setup: Setup,
  view: View,
  keyset: Keyset | null,
  limit: number,
): Statement {
  const p = new Params(dialect);
  if (setup === 'accelerated') {
    // parameters in text order: MariaDB's are positional
    const driver = sideDriver(view, p);
    const after = keyset
      ? ` and s.time_num <= ${p.add(keyset.timeNum)} and (s.time_num, s.partition_tag, s.mail_id, s.rseqnum) < (${p.add(keyset.timeNum)}, ${p.add(keyset.partitionTag)}, ${p.add(keyset.mailId)}, ${p.add(keyset.rseqnum)})`
      : '';
    const check = rowCheck(dialect, view, p);
    const order = 's.time_num desc, s.partition_tag desc, s.mail_id desc, s.rseqnum desc';
    if (dialect === 'pg') {
      return {
        text: `select x.* from amavis_console_listing s cross join lateral (
            select ${COLUMNS}
            from msgrcpt r join msgs m on m.partition_tag = r.partition_tag and m.mail_id = r.mail_id
            join maddr a on a.id = r.rid left join maddr snd on snd.id = m.sid
            where r.partition_tag = s.partition_tag and r.mail_id = s.mail_id and r.rseqnum = s.rseqnum
              and r.rs <> 'D' and m.content is not null
              and exists (select 1 from quarantine q where q.partition_tag = m.partition_tag
                            and q.mail_id = m.mail_id and q.chunk_ind = 1)${check}
            limit 1) x
          where ${driver.where}${after}
          order by ${order} limit ${limit}`,
        params: p.values,
      };
    }
    return {
      text: `select straight_join ${COLUMNS}
        from amavis_console_listing s force index (${driver.index})
        straight_join msgrcpt r force index (primary)
          on r.partition_tag = s.partition_tag and r.mail_id = s.mail_id and r.rseqnum = s.rseqnum
        straight_join msgs m force index (primary) on m.partition_tag = s.partition_tag and m.mail_id = s.mail_id
        straight_join maddr a force index (primary) on a.id = r.rid
        left join maddr snd force index (primary) on snd.id = m.sid
        where ${driver.where}${after} and r.rs <> 'D' and m.content is not null
          and (select 1 from quarantine q where q.partition_tag = m.partition_tag and q.mail_id = m.mail_id
                 and q.chunk_ind = 1) is not null${check}
        order by ${order} limit ${limit}`,
      params: p.values,
    };
  }
  if (dialect === 'pg' && (view.kind === 'all' || view.kind === 'type' || view.kind === 'text')) {
    // everything a superadmin sees, newest first: walk the messages, check their recipients laterally
    const check = rowCheck(dialect, view, p);
    const after = keyset
      ? ` and m.time_num <= ${p.add(keyset.timeNum)} and (m.time_num, m.partition_tag, m.mail_id, x.rseqnum) < (${p.add(keyset.timeNum)}, ${p.add(keyset.partitionTag)}, ${p.add(keyset.mailId)}, ${p.add(keyset.rseqnum)})`
      : '';
    return {
      text: `select m.partition_tag, m.mail_id, m.time_num, snd.email as sender_email, m.from_addr, m.subject,
          m.size, x.*
        from msgs m left join maddr snd on snd.id = m.sid
        cross join lateral (select r.rseqnum, a.email as recipient_email, r.content, r.rs, r.bspam_level
          from msgrcpt r join maddr a on a.id = r.rid
          where r.partition_tag = m.partition_tag and r.mail_id = m.mail_id and r.rs <> 'D'${check}
          offset 0) x
        where m.content is not null and exists (select 1 from quarantine q where q.partition_tag = m.partition_tag
          and q.mail_id = m.mail_id and q.chunk_ind = 1)${after}
        order by m.time_num desc, m.partition_tag desc, m.mail_id desc, x.rseqnum desc limit ${limit}`,
      params: p.values,
    };
  }
  if (dialect === 'mysql') {
    // MariaDB: a page of message keys first (walking msgs_idx_time_num, the recipient test a scalar
    // subquery it cannot flatten into a semi-join that starts from quarantine), then their rows
    const innerCheck = rowCheck(dialect, view, p, { r: 'r1', a: 'a1', snd: 'snd0', m: 'm0' });
    const innerAfter = keyset
      ? ` and m0.time_num <= ${p.add(keyset.timeNum)} and (m0.time_num, m0.partition_tag, m0.mail_id) <= (${p.add(keyset.timeNum)}, ${p.add(keyset.partitionTag)}, ${p.add(keyset.mailId)})`
      : '';
    const check = rowCheck(dialect, view, p);
    const after = keyset
      ? ` and (m.time_num, m.partition_tag, m.mail_id, r.rseqnum) < (${p.add(keyset.timeNum)}, ${p.add(keyset.partitionTag)}, ${p.add(keyset.mailId)}, ${p.add(keyset.rseqnum)})`
      : '';
    return {
      text: `select ${COLUMNS}
        from (select m0.partition_tag, m0.mail_id from msgs m0 left join maddr snd0 on snd0.id = m0.sid
              where m0.content is not null
                and (select 1 from quarantine q where q.partition_tag = m0.partition_tag and q.mail_id = m0.mail_id
                       and q.chunk_ind = 1) is not null
                and (select 1 from msgrcpt r1 join maddr a1 on a1.id = r1.rid
                     where r1.partition_tag = m0.partition_tag and r1.mail_id = m0.mail_id and r1.rs <> 'D'${innerCheck}
                     limit 1) is not null${innerAfter}
              order by m0.time_num desc, m0.partition_tag desc, m0.mail_id desc limit ${limit + 1}) k
        join msgs m on m.partition_tag = k.partition_tag and m.mail_id = k.mail_id
        join msgrcpt r on r.partition_tag = m.partition_tag and r.mail_id = m.mail_id
        join maddr a on a.id = r.rid left join maddr snd on snd.id = m.sid
        where r.rs <> 'D'${check}${after}
        order by m.time_num desc, m.partition_tag desc, m.mail_id desc, r.rseqnum desc limit ${limit}`,
      params: p.values,
    };
  }
  const check = rowCheck(dialect, view, p);
  const after = keyset
    ? ` and m.time_num <= ${p.add(keyset.timeNum)} and (m.time_num, m.partition_tag, m.mail_id, r.rseqnum) < (${p.add(keyset.timeNum)}, ${p.add(keyset.partitionTag)}, ${p.add(keyset.mailId)}, ${p.add(keyset.rseqnum)})`
    : '';
  return {
    text: `select ${COLUMNS}
      from msgs m join msgrcpt r on r.partition_tag = m.partition_tag and r.mail_id = m.mail_id
      join maddr a on a.id = r.rid left join maddr snd on snd.id = m.sid
      where r.rs <> 'D' and m.content is not null
        and exists (select 1 from quarantine q where q.partition_tag = m.partition_tag and q.mail_id = m.mail_id
                      and q.chunk_ind = 1)${check}${after}
      order by m.time_num desc, m.partition_tag desc, m.mail_id desc, r.rseqnum desc limit ${limit}`,
    params: p.values,
  };
}

/**
 * modoboa-amavis's listing query for the view (SQLconnector._get_quarantine_content): msgrcpt joined to
 * maddr and msgs, the status list, the role filter (maddr.domain for a domain admin, an unanchored regex on
 * the converted address for a user), the type, the search (From header, Subject, recipient), and the
 * quarantine IN-subquery, newest first. It runs twice: once without LIMIT (len(queryset), the count) and
 * once with OFFSET for the page.
 */
export function modoboaListing(dialect: 'pg' | 'mysql', view: View, page: { offset: number; limit: number }) {
  const p = new Params(dialect);
  const where: string[] = [`r.rs IN (' ', 'V', 'R', 'p', 'S', 'H')`];
  if (view.kind === 'type') where.push(`r.content = ${p.add(view.contentCode)}`);
  if (view.kind === 'domain') where.push(`a.domain IN (${p.add(reversed(view.domain ?? ''))})`);
  if (view.kind === 'user') {
    const regex = `(${view.email ?? ''})`;
    where.push(
      dialect === 'pg'
        ? `convert_from(a.email, 'UTF8') ~ ${p.add(regex)}`
        : `convert(a.email using utf8mb4) REGEXP ${p.add(regex)}`,
    );
  }
  if (view.kind === 'text') {
    const like = `%${view.text ?? ''}%`;
    where.push(
      dialect === 'pg'
        ? `(UPPER(m.from_addr::text) LIKE UPPER(${p.add(like)}) OR UPPER(m.subject::text) LIKE UPPER(${p.add(like)})
            OR UPPER(convert_from(a.email, 'UTF8')) LIKE UPPER(${p.add(like)}))`
        : `(m.from_addr LIKE ${p.add(like)} OR m.subject LIKE ${p.add(like)}
            OR convert(a.email using utf8mb4) LIKE ${p.add(like)})`,
    );
  }
  where.push('r.mail_id IN (SELECT U0.mail_id FROM quarantine U0 WHERE U0.chunk_ind = 1)');
  const base = `SELECT r.content, r.bspam_level, r.rs, a.email, m.from_addr, m.subject, m.mail_id, m.time_num
    FROM msgrcpt r INNER JOIN maddr a ON r.rid = a.id INNER JOIN msgs m ON r.mail_id = m.mail_id
    WHERE ${where.join(' AND ')}
    ORDER BY m.time_num DESC`;
  return {
    count: { text: base, params: p.values } satisfies Statement,
    page: {
      text: `${base} LIMIT ${page.limit} OFFSET ${page.offset}`,
      params: p.values,
    } satisfies Statement,
  };
}
