/** Gatehouse's own client at the in-process sandboxes (Notion and the OpenID provider). */
export const SANDBOX_CLIENT_ID = 'gatehouse';
export const ALL_CAPABILITIES = [
  'read_content',
  'update_content',
  'insert_content',
  'read_comments',
  'insert_comments',
  'user_info_with_email',
] as const;
