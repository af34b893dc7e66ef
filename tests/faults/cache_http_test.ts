/** The HTTP fault matrix for cache (see http_matrix.ts). */
import { CACHE, httpFaultMatrix } from "./http_matrix.ts";

httpFaultMatrix(CACHE);
