// Reads a JSON array of GIFT documents on stdin; prints, per document, the questions gift-pegjs
// parses from it ({"questions": [...]}) or its syntax error ({"error": "line:column: message"}).
"use strict";
const { parse } = require("gift-pegjs");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((text) => {
    try {
      return { questions: parse(text) };
    } catch (error) {
      const where = error.location ? `${error.location.start.line}:${error.location.start.column}: ` : "";
      return { error: where + error.message };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
