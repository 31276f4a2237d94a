// Written by `npm run migration:generate`: every migration class, oldest first.
import { Initial1795596680109 } from './1795596680109-Initial';
import { ModelRegistry1795601606415 } from './1795601606415-ModelRegistry';
import { SeedDefaultModels1795601606416 } from './1795601606416-SeedDefaultModels';

export const MIGRATIONS: Function[] = [Initial1795596680109, ModelRegistry1795601606415, SeedDefaultModels1795601606416];
