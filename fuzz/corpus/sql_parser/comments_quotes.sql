-- comment ; here
SELECT "Mixed""Case", t."select" /* nested /* ; */ comment */ FROM "T" WHERE x = ';--';