import { builder } from '../../graphql/builder.ts';
import { InputError } from '../../input-error.ts';
import {
  type EffectiveField,
  type EffectivePolicy,
  effectivePolicy,
  getPolicy,
  getPolicySettings,
  listAddressPolicies,
  type PolicySettings,
  type PolicyValue,
  type PolicyView,
  removeAddressPolicy,
  updatePolicy,
  updatePolicySettings,
} from './policies.service.ts';
import {
  POLICY_FIELD_BY_KEY,
  POLICY_FIELD_GROUPS,
  POLICY_FIELDS,
  type PolicyFieldGroup,
  type PolicyFieldInfo,
  type PolicyFieldKey,
  type PolicyFieldKind,
} from './policy-fields.ts';

const ACCOUNT = { account: true } as const;
const WRITER = { $all: { account: true, write: true } } as const;

export const PolicyFieldEnum = builder.enumType('PolicyField', {
  description: 'An amavis policy field the console edits (the policy table column in camelCase).',
  values: Object.fromEntries(
    POLICY_FIELDS.map((f) => [
      f.key,
      { value: f.key, description: `${f.label} (${f.column}): ${f.description}` },
    ]),
  ) as Record<PolicyFieldKey, { value: PolicyFieldKey; description: string }>,
});

const GROUP_DESCRIPTIONS: Record<PolicyFieldGroup, string> = {
  bypass: 'Checks amavisd skips.',
  lovers: 'Verdicts delivered instead of quarantined ("lovers").',
  spamLevels: 'SpamAssassin score levels.',
  subjectTags: 'Subject prefixes of spam.',
  quarantine: 'Quarantine destinations.',
  limits: 'Size limit and banned-file rules.',
  notifications: 'Recipient warnings, address extensions and admin notifications.',
  spamAssassin: 'SpamAssassin settings.',
};

const PolicyFieldGroupEnum = builder.enumType('PolicyFieldGroup', {
  description: 'How the policy fields are grouped for editing.',
  values: Object.fromEntries(
    POLICY_FIELD_GROUPS.map((g) => [g, { value: g, description: GROUP_DESCRIPTIONS[g] }]),
  ) as Record<PolicyFieldGroup, { value: PolicyFieldGroup; description: string }>,
});

const PolicyFieldKindEnum = builder.enumType('PolicyFieldKind', {
  description: 'What a policy field holds.',
  values: {
    flag: { value: 'flag', description: 'On or off (amavisd char(1) Y/N).' },
    level: { value: 'level', description: 'A SpamAssassin score.' },
    size: { value: 'size', description: 'A number of bytes.' },
    text: { value: 'text', description: "A text; the empty text is a value of its own (usually 'none')." },
  } as const satisfies Record<PolicyFieldKind, unknown>,
});

type ValueState = 'inherit' | 'on' | 'off' | 'value';

const PolicyValueStateEnum = builder.enumType('PolicyValueState', {
  description: 'The state of a policy field.',
  values: {
    inherit: {
      value: 'inherit',
      description: 'Not set (NULL): amavisd takes the next matching row, then amavisd.conf.',
    },
    on: { value: 'on', description: 'A flag set on (Y).' },
    off: { value: 'off', description: 'A flag set off (N).' },
    value: { value: 'value', description: 'A level, size or text set here (see number / text).' },
  } as const satisfies Record<ValueState, unknown>,
});

const PolicyScopeEnum = builder.enumType('PolicyScope', {
  description: 'Whose policy it is.',
  values: {
    global: { value: 'global', description: "Everyone's: the catch-all users row '@.' (priority 0)." },
    domain: {
      value: 'domain',
      description: "A domain's: '@domain' (priority 5), shared by its alias domains.",
    },
    address: {
      value: 'address',
      description: "One address's (priority 9), inheriting what it does not set.",
    },
  } as const,
});

function stateOf(value: PolicyValue): ValueState {
  if (value === null) return 'inherit';
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return 'value';
}

interface FieldValueShape {
  key: PolicyFieldKey;
  value: PolicyValue;
}

const valueFields = <T extends FieldValueShape>(
  t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, T>,
) => ({
  field: t.field({ type: PolicyFieldEnum, description: 'The field.', resolve: (f) => f.key }),
  state: t.field({
    type: PolicyValueStateEnum,
    description: 'Inherit, on, off or a value.',
    resolve: (f) => stateOf(f.value),
  }),
  number: t.float({
    nullable: true,
    description: 'The level or size, when the state is value and the field holds a number.',
    resolve: (f) => (typeof f.value === 'number' ? f.value : null),
  }),
  text: t.string({
    nullable: true,
    description: 'The text, when the state is value and the field holds a text.',
    resolve: (f) => (typeof f.value === 'string' ? f.value : null),
  }),
});

const PolicyFieldValueRef = builder.objectRef<FieldValueShape>('PolicyFieldValue').implement({
  description: 'One field of a policy as stored.',
  fields: (t) => valueFields(t),
});

const PolicyFieldInfoRef = builder.objectRef<PolicyFieldInfo>('PolicyFieldInfo').implement({
  description: 'A policy field the console edits, for building forms.',
  fields: (t) => ({
    field: t.field({ type: PolicyFieldEnum, description: 'The field.', resolve: (f) => f.key }),
    column: t.exposeString('column', { description: "amavisd's policy column." }),
    group: t.field({ type: PolicyFieldGroupEnum, description: 'Its group.', resolve: (f) => f.group }),
    kind: t.field({ type: PolicyFieldKindEnum, description: 'What it holds.', resolve: (f) => f.kind }),
    label: t.exposeString('label', { description: 'A short label.' }),
    description: t.exposeString('description', { description: 'What a value does.' }),
    maxLength: t.int({
      nullable: true,
      description: 'The longest text the column holds.',
      resolve: (f) => f.maxLength ?? null,
    }),
  }),
});

const PolicyRef = builder.objectRef<PolicyView>('Policy').implement({
  description: 'An amavis policy: a users row (lookup key) and the policy row it points to.',
  fields: (t) => ({
    owner: t.string({
      description: "The users key: '@.', '@domain' or an address.",
      resolve: (p) => p.owner.key,
    }),
    scope: t.field({
      type: PolicyScopeEnum,
      description: 'Whose policy it is.',
      resolve: (p) => p.owner.scope,
    }),
    exists: t.exposeBoolean('exists', {
      description: 'Whether amavis has a users row for the owner; without one every field inherits.',
    }),
    priority: t.exposeInt('priority', {
      nullable: true,
      description: 'users.priority (amavisd reads higher first).',
    }),
    policyName: t.exposeString('policyName', {
      nullable: true,
      description: 'policy.policy_name (a comment).',
    }),
    sharedWith: t.exposeStringList('sharedWith', {
      description: "Other users keys pointing to the same policy (a domain's alias domains).",
    }),
    values: t.field({
      type: [PolicyFieldValueRef],
      description: 'Every field, in the catalogue order.',
      resolve: (p) => POLICY_FIELDS.map((f) => ({ key: f.key, value: p.values[f.key] })),
    }),
    editableFields: t.field({
      type: [PolicyFieldEnum],
      description: 'The fields the caller may change.',
      resolve: (p) => p.editable,
    }),
  }),
});

const EffectiveFieldRef = builder.objectRef<EffectiveField>('EffectivePolicyField').implement({
  description: 'The value amavisd uses for one field, and where it comes from.',
  fields: (t) => ({
    ...valueFields(t),
    source: t.exposeString('source', {
      nullable: true,
      description: "The users key that sets it; null: no row does, amavisd.conf's value applies.",
    }),
    sourcePriority: t.exposeInt('sourcePriority', { nullable: true, description: "That row's priority." }),
  }),
});

const PolicyMatchRef = builder.objectRef<EffectivePolicy['matches'][number]>('PolicyMatch').implement({
  description: 'A users row amavisd matches for the address.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'users.email.' }),
    priority: t.exposeInt('priority', { description: 'users.priority.' }),
    policyName: t.exposeString('policyName', { nullable: true, description: 'Its policy name.' }),
  }),
});

const EffectivePolicyRef = builder.objectRef<EffectivePolicy>('EffectivePolicy').implement({
  description: "How amavisd resolves an address's policy from its SQL lookup tables.",
  fields: (t) => ({
    address: t.exposeString('address', { description: 'The address, normalised.' }),
    lookupKeys: t.exposeStringList('keys', {
      description: 'The keys amavisd looks up, most specific first (bare local parts left out).',
    }),
    matches: t.field({
      type: [PolicyMatchRef],
      description: 'The users rows that match, in the order amavisd reads them.',
      resolve: (e) => e.matches,
    }),
    ties: t.exposeBoolean('ties', {
      description:
        "Whether two matching rows share a priority (amavisd's order between them is then undefined).",
    }),
    fields: t.field({
      type: [EffectiveFieldRef],
      description: 'Every field with its value and source.',
      resolve: (e) => e.fields,
    }),
  }),
});

const PolicySettingsRef = builder.objectRef<PolicySettings>('PolicySettings').implement({
  description: 'Who changes which policy fields (set by superadmins).',
  fields: (t) => ({
    domainAdminPolicyFields: t.field({
      type: [PolicyFieldEnum],
      description: "The fields domain admins change in their domains' and addresses' policies.",
      resolve: (s) => s.domainAdminPolicyFields,
    }),
    userPolicyFields: t.field({
      type: [PolicyFieldEnum],
      description: "The fields users change in their own addresses' policies (none by default).",
      resolve: (s) => s.userPolicyFields,
    }),
    userSenderLists: t.exposeBoolean('userSenderLists', {
      description: "Whether users manage their own addresses' sender allow/block lists.",
    }),
  }),
});

builder.queryField('policyFields', (t) =>
  t.field({
    type: [PolicyFieldInfoRef],
    description: 'The policy fields the console edits, grouped, in display order.',
    authScopes: ACCOUNT,
    resolve: () => [...POLICY_FIELDS],
  }),
);

builder.queryField('policy', (t) =>
  t.field({
    type: PolicyRef,
    description:
      "A policy as stored: '@.' (superadmins), '@domain' (its admins) or an address (its admins, its owner).",
    authScopes: ACCOUNT,
    args: {
      owner: t.arg.string({
        description: "'@.', '@domain' (an alias domain means its domain) or an address.",
      }),
    },
    resolve: (_root, { owner }, context) =>
      getPolicy(context.stores, context.actor, { owner }, context.client),
  }),
);

builder.queryField('addressPolicies', (t) =>
  t.field({
    type: [PolicyRef],
    description:
      'The addresses of a domain (and its alias domains) with a policy or sender list of their own, by address (at most 1000); its admins only.',
    authScopes: ACCOUNT,
    args: { domain: t.arg.string({ description: 'The domain (an alias domain means its domain).' }) },
    resolve: (_root, { domain }, context) =>
      listAddressPolicies(context.stores, context.actor, { domain }, context.client),
  }),
);

builder.queryField('effectivePolicy', (t) =>
  t.field({
    type: EffectivePolicyRef,
    description:
      'The users rows amavisd matches for an address and the value of each field, with its source.',
    authScopes: ACCOUNT,
    args: { address: t.arg.string({ description: 'The recipient address.' }) },
    resolve: (_root, { address }, context) =>
      effectivePolicy(context.stores, context.actor, { address }, context.client),
  }),
);

builder.queryField('policySettings', (t) =>
  t.field({
    type: PolicySettingsRef,
    description: 'Who changes which policy fields.',
    authScopes: ACCOUNT,
    resolve: (_root, _args, context) => getPolicySettings(context.stores.console, context.actor),
  }),
);

const PolicyFieldChangeInput = builder.inputType('PolicyFieldChange', {
  description: 'A new state for one field.',
  fields: (t) => ({
    field: t.field({ type: PolicyFieldEnum, description: 'The field.' }),
    state: t.field({
      type: PolicyValueStateEnum,
      description: 'inherit (NULL), on / off (flags), or value (levels, sizes, texts: give number or text).',
    }),
    number: t.float({ required: false, description: 'The level or size, with state value.' }),
    text: t.string({
      required: false,
      description: "The text, with state value ('' is a value: usually none).",
    }),
  }),
});

/** GraphQL's change to the service's value, checked against the field's kind. */
function changeValue(change: {
  field: PolicyFieldKey;
  state: ValueState;
  number?: number | null;
  text?: string | null;
}): PolicyValue {
  const info = POLICY_FIELD_BY_KEY.get(change.field) as PolicyFieldInfo;
  const flag = info.kind === 'flag';
  switch (change.state) {
    case 'inherit':
      return null;
    case 'on':
    case 'off':
      if (!flag)
        throw new InputError(
          `${change.field}: not a flag; use state value with ${info.kind === 'text' ? 'text' : 'number'}`,
        );
      return change.state === 'on';
    case 'value':
      if (flag) throw new InputError(`${change.field}: a flag is on, off or inherit`);
      if (info.kind === 'text') {
        if (change.text == null) throw new InputError(`${change.field}: give the text`);
        return change.text;
      }
      if (change.number == null) throw new InputError(`${change.field}: give the number`);
      return change.number;
  }
}

const UpdatePolicyInput = builder.inputType('UpdatePolicyInput', {
  description: 'Changes to some fields of a policy; the others stay as they are.',
  fields: (t) => ({
    owner: t.string({
      description: "'@.', '@domain' or an address (which then gets its own policy, priority 9).",
    }),
    changes: t.field({ type: [PolicyFieldChangeInput], description: 'The fields to change, each once.' }),
  }),
});

const PolicyPayload = (name: string, description: string) =>
  builder.objectRef<PolicyView>(name).implement({
    description,
    fields: (t) => ({
      policy: t.field({ type: PolicyRef, description: 'The policy now.', resolve: (p) => p }),
    }),
  });

const UpdatePolicyPayload = PolicyPayload('UpdatePolicyPayload', 'The policy changed.');

builder.mutationField('updatePolicy', (t) =>
  t.field({
    type: UpdatePolicyPayload,
    description:
      'Changes policy fields (audited). Levels must be numbers in a sensible order (tag ≤ tag2 ≤ kill ≤ cutoffs); domain admins and users change only the fields policySettings allows them.',
    authScopes: WRITER,
    args: { input: t.arg({ type: UpdatePolicyInput, description: 'The policy and the changes.' }) },
    resolve: (_root, { input }, context) => {
      const changes: Partial<Record<PolicyFieldKey, PolicyValue>> = {};
      for (const change of input.changes) {
        if (change.field in changes) throw new InputError(`changes: ${change.field} is named twice`);
        changes[change.field] = changeValue(change);
      }
      return updatePolicy(context.stores, context.actor, { owner: input.owner, changes }, context.client);
    },
  }),
);

const RemoveAddressPolicyInput = builder.inputType('RemoveAddressPolicyInput', {
  description: 'The address to give back to its domain policy.',
  fields: (t) => ({ address: t.string({ description: 'The address.' }) }),
});

const RemoveAddressPolicyPayload = PolicyPayload(
  'RemoveAddressPolicyPayload',
  'The address policy after the removal (every field inherits).',
);

builder.mutationField('removeAddressPolicy', (t) =>
  t.field({
    type: RemoveAddressPolicyPayload,
    description: "Removes an address's own policy (its admins only; audited); its sender list stays.",
    authScopes: WRITER,
    args: { input: t.arg({ type: RemoveAddressPolicyInput, description: 'The address.' }) },
    resolve: (_root, { input }, context) =>
      removeAddressPolicy(context.stores, context.actor, input, context.client),
  }),
);

const UpdatePolicySettingsInput = builder.inputType('UpdatePolicySettingsInput', {
  description: 'The policy settings to change; omitted ones stay.',
  fields: (t) => ({
    domainAdminPolicyFields: t.field({
      type: [PolicyFieldEnum],
      required: false,
      description: 'The fields domain admins change.',
    }),
    userPolicyFields: t.field({
      type: [PolicyFieldEnum],
      required: false,
      description: 'The fields users change.',
    }),
    userSenderLists: t.boolean({
      required: false,
      description: 'Whether users manage their own sender lists.',
    }),
  }),
});

builder.mutationField('updatePolicySettings', (t) =>
  t.field({
    type: PolicySettingsRef,
    description: 'Changes who changes which policy fields (superadmins only; audited).',
    authScopes: { $all: { superadmin: true, write: true } },
    args: { input: t.arg({ type: UpdatePolicySettingsInput, description: 'The settings to change.' }) },
    resolve: (_root, { input }, context) => {
      const patch: Partial<PolicySettings> = {};
      if (input.domainAdminPolicyFields)
        patch.domainAdminPolicyFields = [...new Set(input.domainAdminPolicyFields)];
      if (input.userPolicyFields) patch.userPolicyFields = [...new Set(input.userPolicyFields)];
      if (input.userSenderLists != null) patch.userSenderLists = input.userSenderLists;
      return updatePolicySettings(context.stores.console, context.actor, patch, context.client);
    },
  }),
);
