// The window's one store and the hooks screens read it through (see store.ts and hooks.tsx).
export { type Change, type ChangeBatch, type ChangeSource, catalogChanges, changesOfJob, localChange } from "./changes";
export {
  StoreProvider,
  useBackups,
  useComponents,
  useDrillsVersion,
  useHealth,
  useJobActions,
  useJobHistory,
  useJobs,
  useLiveJob,
  useLiveJobs,
  useOptionalStore,
  useProject,
  useProjectStatus,
  useProjects,
  useRetention,
  useSchedules,
  useReload,
  useStore,
} from "./hooks";
export {
  AppStore,
  JOBS_LIMIT_ALL,
  JOBS_LIMIT_PROJECT,
  type JobHandlers,
  type Key,
  keys,
  type LiveJob,
  normalFilter,
  type Resource,
  type StartResult,
} from "./store";
