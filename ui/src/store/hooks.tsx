// Small hooks over the one store (store.ts), built on useSyncExternalStore. A screen says what it
// shows (`useBackups("shop")`); the store fetches it once, keeps it fresh as the catalog changes,
// and re-renders exactly the screens whose data changed.
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from "react";
import type {
  BackupRow,
  Components,
  HealthOverview,
  JobFilter,
  JobRecord,
  ProjectStatus,
  ProjectSummary,
  RetentionView,
  ScheduleView,
} from "../bindings";
import { AppStore, type Key, keys, keyString, type LiveJob, type Resource, type StoreOptions } from "./store";

const StoreContext = createContext<AppStore | null>(null);

/**
 * Gives the screens below one store and connects it to the job events and catalog changes while
 * mounted. Tests may pass their own `store`.
 */
export function StoreProvider({
  children,
  store,
  options,
}: {
  children: ReactNode;
  store?: AppStore;
  options?: StoreOptions;
}) {
  const [own] = useState(() => store ?? new AppStore(options));
  // A layout effect: subscribed before any screen's own effects can start a job.
  useLayoutEffect(() => own.connect(), [own]);
  return <StoreContext.Provider value={own}>{children}</StoreContext.Provider>;
}

export function useStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error("store hooks outside <StoreProvider>");
  return store;
}

/**
 * The store when there is one: for components that also work on their own (a form that tells the
 * store what it changed, rendered alone in a test).
 */
export function useOptionalStore(): AppStore | null {
  return useContext(StoreContext);
}

/** What the store holds under `key`, fetched when first shown; null key: nothing. */
function useResource<T>(key: Key): Resource<T> {
  const store = useStore();
  const ks = keyString(key);
  const keyRef = useRef(key);
  keyRef.current = key;
  useEffect(() => store.retain(keyRef.current), [store, ks]);
  return useSyncExternalStore(store.subscribe, () => store.read<T>(keyRef.current));
}

/** Every project with its newest backup (the home screen). */
export function useProjects(): Resource<ProjectSummary[]> {
  return useResource<ProjectSummary[]>(keys.projects());
}

/** One project's summary. */
export function useProject(name: string): Resource<ProjectSummary> {
  return useResource<ProjectSummary>(keys.project(name));
}

/** A project's backups, newest first. */
export function useBackups(project: string): Resource<BackupRow[]> {
  return useResource<BackupRow[]>(keys.backups(project));
}

/** The newest jobs the catalog recorded: of one project, or of all. */
export function useJobs(project?: string): Resource<JobRecord[]> {
  return useResource<JobRecord[]>(keys.jobs(project ?? null));
}

/** Every project's next run, schedule state, overdue flag and newest good backup. */
export function useProjectStatus(): Resource<ProjectStatus[]> {
  return useResource<ProjectStatus[]>(keys.status());
}

/** Every project's health, worst first, with the summary line and the worst state (the dashboard). */
export function useHealth(): Resource<HealthOverview> {
  return useResource<HealthOverview>(keys.health());
}

/** A project's schedules (backup, verify), each with its next runs. */
export function useSchedules(project: string): Resource<ScheduleView[]> {
  return useResource<ScheduleView[]>(keys.schedules(project));
}

/** A project's retention policy. */
export function useRetention(project: string): Resource<RetentionView> {
  return useResource<RetentionView>(keys.retention(project));
}

/** A project's storage, Supabase ref and default backup type. */
export function useComponents(project: string): Resource<Components> {
  return useResource<Components>(keys.components(project));
}

/** Every job of every project matching `filter`, newest first (the history screen). */
export function useJobHistory(filter: JobFilter): Resource<JobRecord[]> {
  return useResource<JobRecord[]>(keys.history(filter));
}

/** Fetch `key` again now (a Retry button). */
export function useReload(): (key: Key) => void {
  const store = useStore();
  return (key) => store.reload(key);
}

/** This window's jobs, newest first: of one project (by name), or all. */
export function useLiveJobs(project?: string): LiveJob[] {
  const store = useStore();
  const all = useSyncExternalStore(store.subscribe, () => store.liveJobs());
  return useMemo(() => (project === undefined ? all : all.filter((j) => j.project === project)), [all, project]);
}

/** One job of this window, by id (null: none, or not seen yet). */
export function useLiveJob(id: string | null): LiveJob | null {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => (id === null ? null : store.liveJob(id)));
}

/**
 * Shows job `id` in this view's context while the view is mounted: the page's job list above
 * the tabs leaves it out meanwhile (one job, shown once).
 */
export function usePlacedJob(id: string | null): void {
  const store = useStore();
  useEffect(() => (id === null ? undefined : store.place(id)), [store, id]);
}

/** Changes whenever the catalog names a drill of `project` (a drill screen reloads its list). */
export function useDrillsVersion(project: string): number {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => store.drillsVersion(project));
}

/** Starting, cancelling and dismissing jobs. */
export function useJobActions() {
  const store = useStore();
  return useMemo(
    () => ({
      startBackup: store.startBackup,
      startTenantBackup: store.startTenantBackup,
      startVerify: store.startVerify,
      startRemoteBackup: store.startRemoteBackup,
      startPull: store.startPull,
      startRestore: store.startRestore,
      startImport: store.startImport,
      startDrill: store.startDrill,
      cancel: store.cancel,
      dismiss: store.dismiss,
    }),
    [store],
  );
}

export type { LiveJob, Resource };
