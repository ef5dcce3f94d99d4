export { loadUsersConfig, type UsersConfig } from './config.ts';
export {
  mergePreferences,
  type PreferencesPatch,
  type ProfileChanges,
  profileChanges,
} from './profile-changes.ts';
export { handleProfileEvent } from './profile-events.ts';
export { Profile, ProfileList, UpdateProfileBody } from './profile-schemas.ts';
export { program } from './program.ts';
export { type Preferences, type PreferenceValue, type ProfileRow, profiles } from './schema.ts';
export { USERS_ERROR_CODES } from './users-errors.ts';
export {
  buildUsersService,
  CONSUMER_GROUP,
  SERVICE_NAME,
  type UsersServiceOptions,
} from './users-service.ts';
