/**
 * zod/mini with English messages: the same validation as classic zod at a tenth of the
 * bundle, which matters for Lambda cold starts (classic zod alone cost ~35 ms to import).
 * Every schema imports zod from here, so the locale is configured once.
 */
import * as z from "zod/mini";
import { en } from "zod/locales";

z.config(en());

export * from "zod/mini";
