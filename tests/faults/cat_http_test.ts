/** The HTTP fault matrix for cat (see http_matrix.ts). */
import { CAT, httpFaultMatrix } from "./http_matrix.ts";

httpFaultMatrix(CAT);
