// Parameters of the azure driver, checked once at start-up; every error names its key. The names are
// those of distribution's azure driver (accountname, accountkey, container, realm, serviceurl,
// rootdirectory), plus createcontainer.
import { DriverConfigError } from '../../errors.js';
import { param, type DriverParameters } from '../../factory.js';
import { parseRootDirectory } from '../object-store/keys.js';

export const AZURE = 'azure';
export const MiB = 1024 * 1024;

export const AZURE_PARAMETERS = ['accountname', 'accountkey', 'container', 'realm', 'serviceurl', 'rootdirectory', 'createcontainer'] as const;

export interface AzureConfig {
  accountName: string;
  accountKey: string;
  container: string;
  /** Blob service URL: serviceurl, or https://<account>.blob.<realm>. */
  serviceUrl: string;
  /** Blob-name prefix every path is stored under: '' or 'some/dir/'. */
  rootPrefix: string;
  createContainer: boolean;
}

export function parseAzureConfig(params: DriverParameters): AzureConfig {
  const p = params;
  param.onlyKnown(AZURE, p, AZURE_PARAMETERS);

  // Shared-key authentication only (no Azure AD / managed identity in this driver): both are required.
  const accountName = param.optionalString(AZURE, p, 'accountname');
  const accountKey = param.optionalString(AZURE, p, 'accountkey');
  if (accountName === undefined) {
    throw new DriverConfigError(AZURE, 'accountname', `required${accountKey !== undefined ? ' with accountkey' : ' (with accountkey)'}`);
  }
  if (accountKey === undefined) throw new DriverConfigError(AZURE, 'accountkey', 'required with accountname');
  if (!/^[a-z0-9]{3,24}$/.test(accountName) && accountName !== 'devstoreaccount1') {
    throw new DriverConfigError(AZURE, 'accountname', `${JSON.stringify(accountName)} is not a valid storage account name (3-24 lowercase letters and digits)`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey) || accountKey.length % 4 !== 0) {
    throw new DriverConfigError(AZURE, 'accountkey', 'must be the base64 account key shown in the portal (Access keys)');
  }

  const container = param.string(AZURE, p, 'container');
  // Container names: 3-63 lowercase letters, digits and single dashes, starting with a letter or digit.
  if (!/^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/.test(container)) {
    throw new DriverConfigError(AZURE, 'container', `${JSON.stringify(container)} is not a valid container name (3-63 lowercase letters, digits and "-")`);
  }

  const realm = param.string(AZURE, p, 'realm', 'core.windows.net');
  if (!/^[a-z0-9.-]+$/i.test(realm)) throw new DriverConfigError(AZURE, 'realm', `${JSON.stringify(realm)} is not a DNS suffix (e.g. core.windows.net)`);
  const rawServiceUrl = param.optionalString(AZURE, p, 'serviceurl');
  let serviceUrl = `https://${accountName}.blob.${realm}`;
  if (rawServiceUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(rawServiceUrl);
    } catch {
      throw new DriverConfigError(AZURE, 'serviceurl', `not a URL: ${JSON.stringify(rawServiceUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DriverConfigError(AZURE, 'serviceurl', `scheme must be http or https, got ${url.protocol}`);
    }
    if (url.search || url.hash) throw new DriverConfigError(AZURE, 'serviceurl', 'must not carry a query (SAS) or fragment');
    serviceUrl = url.href.replace(/\/+$/, '');
  }

  return {
    accountName,
    accountKey,
    container,
    serviceUrl,
    rootPrefix: parseRootDirectory(AZURE, param.optionalString(AZURE, p, 'rootdirectory')),
    createContainer: param.bool(AZURE, p, 'createcontainer', false),
  };
}
