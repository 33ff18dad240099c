// The actions on quarantined mail, one call for one or many entries; the server answers per item.
import { mutate } from './graphql/client';
import {
  ActionFields,
  DeleteMutation,
  MarkMutation,
  ReleaseMutation,
  ReleaseToMutation,
} from './graphql/documents';
import { type ResultOf, readFragment } from './graphql/graphql';

export type ActionKind = 'release' | 'delete' | 'spam' | 'ham';
export type ActionPayload = ResultOf<typeof ActionFields>;

export async function runAction(kind: ActionKind, ids: string[]): Promise<ActionPayload> {
  switch (kind) {
    case 'release':
      return readFragment(ActionFields, (await mutate(ReleaseMutation, { ids })).releaseMessages);
    case 'delete':
      return readFragment(ActionFields, (await mutate(DeleteMutation, { ids })).deleteMessages);
    case 'spam':
      return readFragment(
        ActionFields,
        (await mutate(MarkMutation, { input: { ids, as: 'spam' } })).markMessages,
      );
    case 'ham':
      return readFragment(
        ActionFields,
        (await mutate(MarkMutation, { input: { ids, as: 'ham' } })).markMessages,
      );
  }
}

/** Admins: deliver copies to other addresses; the original recipient's status stays as it is. */
export async function releaseTo(ids: string[], to: string[]): Promise<ActionPayload> {
  return readFragment(ActionFields, (await mutate(ReleaseToMutation, { ids, to })).releaseMessages);
}
