// The app talks to /graphql from the browser with the HttpOnly session cookie; rendering on the server
// would need the same calls made twice, so it renders in the browser only (the server sends the shell).
export const ssr = false;
export const prerender = false;
