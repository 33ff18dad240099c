import { builder } from './builder.ts';

/** The interface every typed error implements (see resultUnion in errors.ts). */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'A problem the client can handle; the message is written for people.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, in plain English.' }),
  }),
});
