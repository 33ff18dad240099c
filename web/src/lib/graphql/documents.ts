// Every GraphQL document the web app sends, typed against schema.graphql by gql.tada.
import { graphql } from './graphql';

export const ViewerFields = graphql(`
  fragment ViewerFields on Viewer {
    kind
    email
    role
    addresses
    domains
    selfServiceMailId
  }
`);

export const ViewerQuery = graphql(
  `
  query Viewer {
    viewer { ...ViewerFields }
  }
`,
  [ViewerFields],
);

export const LogInMutation = graphql(
  `
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      __typename
      ... on Viewer { ...ViewerFields }
      ... on Error { message }
      ... on TooManyAttemptsError { retryAfterSeconds }
    }
  }
`,
  [ViewerFields],
);

export const LogOutMutation = graphql(`
  mutation LogOut {
    logOut { kind }
  }
`);

export const StartSelfServiceMutation = graphql(
  `
  mutation StartSelfService($input: StartSelfServiceInput!) {
    startSelfService(input: $input) {
      __typename
      ... on Viewer { ...ViewerFields }
      ... on Error { message }
    }
  }
`,
  [ViewerFields],
);

export const EntryFields = graphql(`
  fragment EntryFields on QuarantinedMessage {
    id
    mailId
    receivedAt
    envelopeSender
    fromHeader
    recipient
    subject
    score
    size
    releaseRequested
    content { kind code }
    status { kind code }
  }
`);

export const QuarantineQuery = graphql(
  `
  query Quarantine($first: Int!, $after: String, $filter: QuarantineFilter, $sort: QuarantineSort) {
    quarantine(first: $first, after: $after, filter: $filter, sort: $sort) {
      edges { cursor node { ...EntryFields } }
      pageInfo { hasNextPage endCursor }
      totalCount(upTo: 10000) { value exact }
    }
  }
`,
  [EntryFields],
);

export const SelfServiceEntryQuery = graphql(
  `
  query SelfServiceEntry {
    quarantine(first: 1) { edges { node { ...EntryFields } } }
  }
`,
  [EntryFields],
);

export const LearningLevelsQuery = graphql(`
  query LearningLevels {
    learningLevels
  }
`);

export const MessageQuery = graphql(
  `
  query Message($id: ID!) {
    learningLevels
    message(id: $id) {
      id
      subject
      date
      messageId
      status
      from { name address }
      to { name address }
      cc { name address }
      replyTo { name address }
      amavis { envelopeFrom envelopeTo quarantineId alerts }
      spam { isSpam score required killLevel tests { name score description } }
      headers { name value }
      parts { partId depth contentType charset filename size }
      text
      htmlUrl
      rawUrl
      rawSize
      problems
      attachments { partId filename contentType size sha256 downloadUrl }
      entry { ...EntryFields }
    }
  }
`,
  [EntryFields],
);

export const ActionFields = graphql(`
  fragment ActionFields on ActionPayload {
    succeeded
    failed
    results { target recipient outcome message }
  }
`);

export const ReleaseMutation = graphql(
  `
  mutation Release($ids: [ID!]!) {
    releaseMessages(input: { ids: $ids }) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const DeleteMutation = graphql(
  `
  mutation Delete($ids: [ID!]!) {
    deleteMessages(input: { ids: $ids }) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const MarkMutation = graphql(
  `
  mutation Mark($input: MarkMessagesInput!) {
    markMessages(input: $input) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const ReleaseRequestsQuery = graphql(`
  query ReleaseRequests($first: Int!, $after: String, $statuses: [ReleaseRequestStatus!]) {
    releaseRequests(first: $first, after: $after, statuses: $statuses) {
      edges {
        node {
          id
          status
          contentKind
          recipient
          sender
          subject
          requestedAt
          requestedBy
          decidedAt
          decidedBy
          reason
          message { id }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const ApproveMutation = graphql(
  `
  mutation Approve($ids: [ID!]!) {
    approveReleaseRequests(input: { ids: $ids }) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const DenyMutation = graphql(
  `
  mutation Deny($ids: [ID!]!, $reason: String!) {
    denyReleaseRequests(input: { ids: $ids, reason: $reason }) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const AccountFields = graphql(`
  fragment AccountFields on Account {
    id
    email
    displayName
    role
    authSource
    disabled
    addresses
    lastLoginAt
    administeredDomains { id name }
  }
`);

export const AccountsQuery = graphql(
  `
  query Accounts($first: Int!, $after: String, $search: String, $role: Role) {
    accounts(first: $first, after: $after, search: $search, role: $role) {
      edges { node { ...AccountFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [AccountFields],
);

export const CreateAccountMutation = graphql(
  `
  mutation CreateAccount($input: CreateAccountInput!) {
    createAccount(input: $input) { account { ...AccountFields } }
  }
`,
  [AccountFields],
);

export const UpdateAccountMutation = graphql(
  `
  mutation UpdateAccount($input: UpdateAccountInput!) {
    updateAccount(input: $input) { account { ...AccountFields } }
  }
`,
  [AccountFields],
);

export const DeleteAccountMutation = graphql(`
  mutation DeleteAccount($id: ID!) {
    deleteAccount(input: { id: $id }) { deletedAccountId }
  }
`);

export const DomainsQuery = graphql(`
  query Domains {
    domains { id name aliases createdAt admins { id email } }
  }
`);

export const CreateDomainMutation = graphql(`
  mutation CreateDomain($name: String!) {
    createDomain(input: { name: $name }) { domain { id name } }
  }
`);

export const DeleteDomainMutation = graphql(`
  mutation DeleteDomain($id: ID!) {
    deleteDomain(input: { id: $id }) { deletedDomainId }
  }
`);

export const AddDomainAliasMutation = graphql(`
  mutation AddDomainAlias($domainId: ID!, $name: String!) {
    addDomainAlias(input: { domainId: $domainId, name: $name }) { domain { id aliases } }
  }
`);

export const SettingsFields = graphql(`
  fragment SettingsFields on Settings {
    amPdpMode
    amPdpHost
    amPdpPort
    amPdpSocket
    saIsLocal
    spamdAddress
    spamdPort
    defaultUser
    manualLearning
    userLevelLearning
    domainLevelLearning
    userCanRelease
    selfService
    maxMessagesAge
    releasedMsgsCleanup
    notificationsSender
    recipientDelimiter
    localpartIsCaseSensitive
  }
`);

export const SettingsQuery = graphql(
  `
  query Settings {
    settings { ...SettingsFields }
  }
`,
  [SettingsFields],
);

export const UpdateSettingsMutation = graphql(
  `
  mutation UpdateSettings($input: UpdateSettingsInput!) {
    updateSettings(input: $input) { ...SettingsFields }
  }
`,
  [SettingsFields],
);

export const ServiceHealthQuery = graphql(`
  query ServiceHealth {
    serviceHealth {
      amavis { target host ok detail latencyMs }
      spamassassin { target ok detail latencyMs }
    }
  }
`);

export const AuditLogQuery = graphql(`
  query AuditLog($first: Int!, $after: String, $filter: AuditLogFilter) {
    auditLog(first: $first, after: $after, filter: $filter) {
      edges { node { id at actor action outcome target domain ip detail } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const ApiTokensQuery = graphql(`
  query ApiTokens {
    apiTokens { id name prefix access createdAt expiresAt lastUsedAt revokedAt }
  }
`);

export const CreateApiTokenMutation = graphql(`
  mutation CreateApiToken($input: CreateApiTokenInput!) {
    createApiToken(input: $input) { secret token { id } }
  }
`);

export const RevokeApiTokenMutation = graphql(`
  mutation RevokeApiToken($id: Int!) {
    revokeApiToken(id: $id) { id revokedAt }
  }
`);

export const SenderSuggestionsQuery = graphql(`
  query SenderSuggestions($id: ID!) {
    senderSuggestions(messageId: $id) {
      envelopeSender
      recipient
      suggestions { sender owner kind allowed quarantinedFromSender }
    }
  }
`);

export const SetSenderListEntryMutation = graphql(`
  mutation SetSenderListEntry($input: SetSenderListEntryInput!) {
    setSenderListEntry(input: $input) { entry { sender owner action } }
  }
`);

export const QuarantineEventsSubscription = graphql(
  `
  subscription QuarantineEvents {
    quarantineEvents {
      kind
      entryId
      entry { ...EntryFields }
    }
  }
`,
  [EntryFields],
);

export const PreferencesFields = graphql(`
  fragment PreferencesFields on Preferences {
    language
    timeZone
    pageSize
    digestEnabled
    digestFrequency
    digestMinute
    digestWeekday
    lastDigestAt
    nextDigestAt
  }
`);

export const MyPreferencesQuery = graphql(
  `
  query MyPreferences {
    myPreferences { ...PreferencesFields }
  }
`,
  [PreferencesFields],
);

export const UpdateMyPreferencesMutation = graphql(
  `
  mutation UpdateMyPreferences($input: UpdateMyPreferencesInput!) {
    updateMyPreferences(input: $input) { ...PreferencesFields }
  }
`,
  [PreferencesFields],
);

export const PolicyValueFields = graphql(`
  fragment PolicyValueFields on Policy {
    owner
    scope
    exists
    priority
    policyName
    sharedWith
    editableFields
    values { field state number text }
  }
`);

export const PolicyQuery = graphql(
  `
  query Policy($owner: String!) {
    policyFields { field label description group kind maxLength }
    policy(owner: $owner) { ...PolicyValueFields }
  }
`,
  [PolicyValueFields],
);

export const EffectivePolicyQuery = graphql(`
  query EffectivePolicy($address: String!) {
    effectivePolicy(address: $address) {
      address
      lookupKeys
      ties
      matches { key priority policyName }
      fields { field state number text source sourcePriority }
    }
  }
`);

export const UpdatePolicyMutation = graphql(
  `
  mutation UpdatePolicy($input: UpdatePolicyInput!) {
    updatePolicy(input: $input) { policy { ...PolicyValueFields } }
  }
`,
  [PolicyValueFields],
);

export const JobRunsQuery = graphql(`
  query JobRuns($first: Int!, $after: String, $job: JobName) {
    jobRuns(first: $first, after: $after, job: $job) {
      edges { node { id job origin outcome dryRun startedAt finishedAt startedBy holder counts error } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const RunJobMutation = graphql(`
  mutation RunJob($input: RunJobInput!) {
    runJob(input: $input) { id job outcome }
  }
`);

export const PendingRequestsSubscription = graphql(`
  subscription PendingRequests {
    pendingReleaseRequests { value exact }
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard(
    $d0: DateTime!, $d1: DateTime!, $d2: DateTime!, $d3: DateTime!,
    $d4: DateTime!, $d5: DateTime!, $d6: DateTime!, $d7: DateTime!
  ) {
    day0: quarantine(first: 1, filter: { receivedFrom: $d0, receivedBefore: $d1 }) { totalCount { value exact } }
    day1: quarantine(first: 1, filter: { receivedFrom: $d1, receivedBefore: $d2 }) { totalCount { value exact } }
    day2: quarantine(first: 1, filter: { receivedFrom: $d2, receivedBefore: $d3 }) { totalCount { value exact } }
    day3: quarantine(first: 1, filter: { receivedFrom: $d3, receivedBefore: $d4 }) { totalCount { value exact } }
    day4: quarantine(first: 1, filter: { receivedFrom: $d4, receivedBefore: $d5 }) { totalCount { value exact } }
    day5: quarantine(first: 1, filter: { receivedFrom: $d5, receivedBefore: $d6 }) { totalCount { value exact } }
    day6: quarantine(first: 1, filter: { receivedFrom: $d6, receivedBefore: $d7 }) { totalCount { value exact } }
    spam: quarantine(first: 1, filter: { receivedFrom: $d0, contentKinds: [spam, spammy] }) { totalCount { value exact } }
    virus: quarantine(first: 1, filter: { receivedFrom: $d0, contentKinds: [virus] }) { totalCount { value exact } }
    banned: quarantine(first: 1, filter: { receivedFrom: $d0, contentKinds: [banned] }) { totalCount { value exact } }
    other: quarantine(
      first: 1
      filter: { receivedFrom: $d0, contentKinds: [badHeader, badMime, oversized, unchecked, clean, mtaError, other, unknown] }
    ) { totalCount { value exact } }
    pending: quarantine(first: 1, filter: { statuses: [pending] }) { totalCount { value exact } }
    released: quarantine(first: 1, filter: { receivedFrom: $d0, statuses: [released] }) { totalCount { value exact } }
  }
`);

export const SenderListQuery = graphql(`
  query SenderList($owner: String!) {
    senderList(owner: $owner) { sender owner action score kind priority expiresAt createdAt createdBy }
  }
`);

export const RemoveSenderListEntryMutation = graphql(`
  mutation RemoveSenderListEntry($input: RemoveSenderListEntryInput!) {
    removeSenderListEntry(input: $input) { removed }
  }
`);

export const ReleaseRulesQuery = graphql(`
  query ReleaseRules($domain: String) {
    releaseRules(domain: $domain) {
      domain
      global { kind permission }
      overrides { kind permission }
      effective { kind permission }
    }
  }
`);

export const SetReleaseRulesMutation = graphql(`
  mutation SetReleaseRules($input: SetReleaseRulesInput!) {
    setReleaseRules(input: $input) { domain }
  }
`);

export const SetAccountAddressesMutation = graphql(
  `
  mutation SetAccountAddresses($input: SetAccountAddressesInput!) {
    setAccountAddresses(input: $input) { account { ...AccountFields } }
  }
`,
  [AccountFields],
);

export const DomainAdminCandidatesQuery = graphql(`
  query DomainAdminCandidates {
    accounts(first: 500, role: domainadmin) { edges { node { id email } } }
  }
`);

export const SetDomainAdminsMutation = graphql(`
  mutation SetDomainAdmins($domainId: ID!, $accountIds: [ID!]!) {
    setDomainAdmins(input: { domainId: $domainId, accountIds: $accountIds }) { domain { id admins { id email } } }
  }
`);

export const ReleaseToMutation = graphql(
  `
  mutation ReleaseTo($ids: [ID!]!, $to: [String!]!) {
    releaseMessages(input: { ids: $ids, to: $to }) { ...ActionFields }
  }
`,
  [ActionFields],
);

export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      __typename
      ... on Error { message }
    }
  }
`);

export const RemoveDomainAliasMutation = graphql(`
  mutation RemoveDomainAlias($domainId: ID!, $name: String!) {
    removeDomainAlias(input: { domainId: $domainId, name: $name }) { domain { id aliases } }
  }
`);

export const PolicySettingsQuery = graphql(`
  query PolicySettings {
    policyFields { field label group }
    policySettings { domainAdminPolicyFields userPolicyFields userSenderLists }
  }
`);

export const UpdatePolicySettingsMutation = graphql(`
  mutation UpdatePolicySettings($input: UpdatePolicySettingsInput!) {
    updatePolicySettings(input: $input) { domainAdminPolicyFields userPolicyFields userSenderLists }
  }
`);

export const RemoveAddressPolicyMutation = graphql(
  `
  mutation RemoveAddressPolicy($address: String!) {
    removeAddressPolicy(input: { address: $address }) { policy { ...PolicyValueFields } }
  }
`,
  [PolicyValueFields],
);
