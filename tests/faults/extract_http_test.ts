/** The HTTP fault matrix for extract (see http_matrix.ts). */
import { EXTRACT, httpFaultMatrix } from "./http_matrix.ts";

httpFaultMatrix(EXTRACT);
