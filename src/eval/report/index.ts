export {
  writeReport,
  pipelineReportInput,
  evaluationReportInput,
  mergeReportInputs,
  readEvalResults,
  readJudgeResults,
  readTrainingCurve,
  effectsTable,
  ReportError,
  REPORT_HTML,
  REPORT_JSON,
  type ReportInput,
  type TrainingCurve,
  type NumberTable,
} from "./report.js";
export { renderReportHtml } from "./html.js";
