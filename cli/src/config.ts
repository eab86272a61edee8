// reckon.yaml as the CLI reads it: the sections of every component it can run.
import { COLLECTOR_CONFIG, composeConfig, type Config } from '@reckon/collector/config'

/** The type of the whole file: the intersection of the sections' types. */
export type ReckonConfig = Config

export const RECKON_CONFIG = composeConfig<ReckonConfig>([COLLECTOR_CONFIG])
