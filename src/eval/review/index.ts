export { ReviewDb, ReviewDbError, DIMENSIONS, type Dimension, type Choice, type AssignmentView, type VoteRow } from "./db.js";
export { hashPassword, verifyPassword } from "./auth.js";
export { buildReviewServer, type ReviewServerOptions } from "./server.js";
export { createStudyFromAnswers, type StudyModel, type StudySummary } from "./study.js";
export { tallyStudy, votesCsv, fleissKappa, majorityOf, type ReviewResults, type PairOutcome } from "./results.js";
