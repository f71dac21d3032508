// Every driver folder, imported once for its registerDriver() side effect. One line per driver.
import './inmemory/index.js';
import './filesystem/index.js';
import './s3/index.js';
import './gcs/index.js';
import './azure/index.js';
