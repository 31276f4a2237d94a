// Written by `npm run migration:generate`: every migration class, oldest first.
import { Initial1795596680109 } from './1795596680109-Initial';

export const MIGRATIONS: Function[] = [Initial1795596680109];
