// The reference "Synchronisation et sauvegarde avec Google Drive" settings page. Plain JS, no
// build step: it talks to the public connection API (docs/api/openapi.yaml) with the token
// /config.json hands out, as eFactori's frontend does with its session's token.
'use strict';

const I18N = {
  fr: {
    skip: 'Aller au contenu', language: 'Langue', loading: 'Chargement…',
    pageTitle: 'Applications et connexions', appsHeading: 'Applications disponibles',
    gdTitle: 'Synchronisation et sauvegarde avec Google Drive',
    gdIntro: "Chaque facture, note de crédit et offre est copiée automatiquement dans le Google Drive de votre choix, puis tenue à jour. Rien n'est modifié dans eFactori.",
    integrationState: 'État :', enabled: 'Activée', disabled: 'Désactivée',
    connectionCount: '({n} Google Drive connecté(s))',
    enable: 'Activer', disable: 'Désactiver', configure: 'Configurer',
    enabledNotice: 'La synchronisation avec Google Drive est activée. Cliquez sur « Configurer » pour connecter un Drive.',
    disabledNotice: 'La synchronisation avec Google Drive est désactivée. Vos connexions sont conservées.',
    backToApps: '← Applications et connexions', backToConnections: '← Google Drive connectés',
    backToConnection: '← Retour à la connexion',
    connectionsHeading: 'Google Drive connectés', connectionsEmpty: "Aucun Google Drive n'est encore connecté.",
    addDrive: 'Ajouter Google Drive', open: 'Ouvrir', addHeading: 'Ajouter Google Drive',
    nameLabel: 'Nom de la connexion', nameHint: 'Par exemple « Comptabilité ». Il vous aide à reconnaître ce Drive.',
    layoutLegend: 'Comment ranger les documents dans le dossier ?', example: 'Exemple :',
    layoutYear: 'Un dossier par année', layoutYearEx: 'Acme/2024/Facture.pdf',
    layoutYearMonth: 'Un dossier par année, puis par mois', layoutYearMonthEx: 'Acme/2024/03/Facture.pdf',
    layoutYearKind: 'Un dossier par année, puis par type de document', layoutYearKindEx: 'Acme/2024/Factures de vente/Facture.pdf',
    consentHint: 'Vous allez être redirigé vers Google pour autoriser eFactori à écrire dans votre Drive.',
    connectGoogle: 'Continuer avec Google', cancel: 'Annuler',
    nameRequired: 'Indiquez un nom.', layoutRequired: 'Choisissez comment ranger les documents.',
    folderNameRequired: 'Indiquez le nom du dossier.',
    redirecting: 'Redirection vers Google…',
    pickerHeading: 'Choisir le dossier de destination',
    pickerIntro: 'Les documents de « {name} » seront copiés dans un dossier au nom de votre société, créé dans le dossier que vous sélectionnez.',
    myDrive: 'Mon Drive', sharedDrives: 'Drives partagés', currentLocation: 'Emplacement actuel',
    subfolders: 'Sous-dossiers', subfoldersOf: 'Sous-dossiers de « {name} »', noSubfolders: "Ce dossier ne contient aucun sous-dossier.",
    noSharedDrives: "Ce compte n'a accès à aucun Drive partagé.", moreFolders: 'Afficher plus de dossiers',
    newFolderLabel: 'Nouveau dossier', createFolderHere: 'Créer un dossier ici',
    folderCreated: 'Dossier « {name} » créé.', selectCurrent: 'Sélectionner le dossier actuel',
    currentFolder: 'Dossier actuel : {path}', pickSharedDrive: 'Ouvrez un Drive partagé pour choisir un dossier.',
    targetChosen: 'Dossier choisi : {path}. La copie des documents commence.',
    statusLabel: 'État', accountLabel: 'Compte Google', folderLabel: 'Dossier', layoutLabel: 'Rangement',
    copyLabel: 'Copie initiale', lastSyncLabel: 'Dernière synchronisation', never: 'Jamais', none: 'Aucun',
    chooseFolder: 'Choisir un autre dossier', chooseTheFolder: 'Choisir le dossier', resync: 'Tout recopier',
    reconnect: 'Reconnecter', retry: 'Réessayer', disconnect: 'Déconnecter',
    renameLabel: 'Renommer la connexion', rename: 'Renommer', renamed: 'Connexion renommée en « {name} ».',
    resyncStarted: 'Tous les documents vont être vérifiés : ce qui manque ou a changé dans Google Drive est recopié, les fichiers déjà à jour ne sont pas renvoyés et les doublons sont mis à la corbeille.',
    layoutChangeLabel: 'Rangement des documents', localeChangeLabel: 'Noms des dossiers', saveLayout: 'Enregistrer le rangement',
    reorganiseHint: 'Les fichiers déjà copiés seront réorganisés dans la nouvelle structure.',
    layoutSaved: 'Rangement enregistré.',
    layoutReorganising: 'Rangement enregistré. Les fichiers déjà copiés sont réorganisés dans la nouvelle structure.',
    layoutUnchanged: 'Rien à changer : la connexion utilise déjà ce rangement.',
    deleteTitle: 'Déconnecter ce Google Drive ?',
    deleteText: "eFactori n'enverra plus de documents vers « {name} ». Les fichiers déjà copiés restent dans Google Drive.",
    deleted: '« {name} » est déconnecté. Les fichiers déjà copiés restent dans Google Drive.',
    'status.awaiting_authorization': "En attente de l'autorisation Google",
    'status.awaiting_folder': 'Dossier de destination à choisir',
    'status.active': 'Active : les documents sont copiés automatiquement',
    'status.needs_reauthorization': 'Accès Google perdu : reconnexion nécessaire',
    'status.error': 'Problème : une action de votre part est nécessaire',
    'layout.year': 'Par année', 'layout.year_month': 'Par année et par mois', 'layout.year_kind': 'Par année et par type de document',
    'copy.none': 'Pas encore commencée', 'copy.pending': 'Sur le point de commencer…',
    'copy.running': '{synced} sur {listed} documents copiés', 'copy.done': 'Terminée : {synced} documents copiés',
    'copy.failed': 'Interrompue après {synced} documents copiés : relancez la synchronisation',
    copyFailed: ' ({failed} en échec)',
    'problem.awaiting_authorization': "Google n'a pas encore autorisé cette connexion. Cliquez sur « Reconnecter » pour ouvrir l'écran d'autorisation de Google.",
    'problem.awaiting_folder': 'Choisissez le dossier Google Drive qui recevra les documents.',
    'problem.needs_reauthorization': "Google n'accepte plus l'accès d'eFactori à ce Drive (l'autorisation a été retirée ou a expiré). Cliquez sur « Reconnecter » pour l'autoriser à nouveau : rien n'est perdu.",
    'problem.quota': "Le stockage du compte Google est plein. Libérez de l'espace dans Google Drive (ou achetez plus de stockage), puis cliquez sur « Réessayer ».",
    'problem.folder': "Le dossier choisi n'est plus utilisable (supprimé, mis à la corbeille ou sans droit d'écriture). Choisissez un autre dossier.",
    'problem.full': "Le dossier ou le drive partagé choisi contient autant d'éléments que Google Drive le permet. Choisissez un dossier ailleurs (ou faites de la place dans le drive partagé).",
    'problem.domainPolicy': "L'administrateur Google Workspace de ce compte a bloqué l'accès des applications à Google Drive. Demandez-lui d'autoriser cette application, puis cliquez sur « Réessayer ».",
    'result.ok': 'Google Drive connecté avec le compte {email}.',
    'result.okPick': 'Google Drive connecté avec le compte {email}. Choisissez maintenant le dossier de destination.',
    'result.denied': "Vous avez annulé l'autorisation sur l'écran de Google. La connexion « {name} » attend toujours votre autorisation : cliquez sur « Reconnecter » pour réessayer.",
    'result.error': "Google n'a pas pu terminer la connexion de « {name} ». Réessayez avec « Reconnecter ».",
    'err.needs-reauthorization': "Google n'accepte plus l'accès d'eFactori à ce Drive. Cliquez sur « Reconnecter » pour l'autoriser à nouveau.",
    'err.drive-unavailable': 'Google Drive ne répond pas pour le moment. Réessayez dans quelques instants.',
    'err.conflict': "Cette action n'est pas possible dans l'état actuel de la connexion ; la page a été actualisée.",
    'err.network': "Le service ne répond pas. Vérifiez votre connexion et réessayez.",
    'err.validation': 'Corrigez les champs indiqués.',
    'err.quota': "Le stockage du compte Google est plein. Libérez de l'espace dans Google Drive (ou achetez plus de stockage), puis réessayez.",
    'err.name-taken': 'Une autre connexion Google Drive porte déjà ce nom. Choisissez-en un autre.',
    'err.consent-required': "L'autorisation de Google n'a pas été terminée pour cette connexion. Cliquez sur « Reconnecter » pour ouvrir l'écran d'autorisation de Google.",
    'err.no-target': 'Cette connexion n\'a pas de dossier utilisable. Choisissez le dossier Google Drive qui recevra les documents.',
    'err.connection-limit-reached': 'Cette entreprise a déjà le nombre maximal de connexions Google Drive. Déconnectez-en une avant d\'en ajouter une autre.',
    'err.target-in-use': 'Ce dossier reçoit déjà les documents d\'une autre connexion Google Drive. Choisissez un autre dossier.',
    'err.target-in-use-named': 'Ce dossier reçoit déjà les documents de la connexion « {name} ». Choisissez un autre dossier, ou déconnectez d\'abord « {name} ».',
  },
  nl: {
    skip: 'Naar de inhoud', language: 'Taal', loading: 'Laden…',
    pageTitle: 'Toepassingen en koppelingen', appsHeading: 'Beschikbare toepassingen',
    gdTitle: 'Synchronisatie en back-up met Google Drive',
    gdIntro: 'Elke factuur, creditnota en offerte wordt automatisch gekopieerd naar de Google Drive van uw keuze en up-to-date gehouden. Er verandert niets in eFactori.',
    integrationState: 'Status:', enabled: 'Ingeschakeld', disabled: 'Uitgeschakeld',
    connectionCount: '({n} Google Drive(s) gekoppeld)',
    enable: 'Inschakelen', disable: 'Uitschakelen', configure: 'Instellen',
    enabledNotice: 'Synchronisatie met Google Drive is ingeschakeld. Klik op "Instellen" om een Drive te koppelen.',
    disabledNotice: 'Synchronisatie met Google Drive is uitgeschakeld. Uw koppelingen blijven bewaard.',
    backToApps: '← Toepassingen en koppelingen', backToConnections: '← Gekoppelde Google Drives',
    backToConnection: '← Terug naar de koppeling',
    connectionsHeading: 'Gekoppelde Google Drives', connectionsEmpty: 'Er is nog geen Google Drive gekoppeld.',
    addDrive: 'Google Drive toevoegen', open: 'Openen', addHeading: 'Google Drive toevoegen',
    nameLabel: 'Naam van de koppeling', nameHint: 'Bijvoorbeeld "Boekhouding". Zo herkent u deze Drive.',
    layoutLegend: 'Hoe worden de documenten in de map geordend?', example: 'Voorbeeld:',
    layoutYear: 'Een map per jaar', layoutYearEx: 'Acme/2024/Factuur.pdf',
    layoutYearMonth: 'Een map per jaar, dan per maand', layoutYearMonthEx: 'Acme/2024/03/Factuur.pdf',
    layoutYearKind: 'Een map per jaar, dan per documenttype', layoutYearKindEx: 'Acme/2024/Verkoopfacturen/Factuur.pdf',
    consentHint: 'U wordt doorgestuurd naar Google om eFactori toegang te geven tot uw Drive.',
    connectGoogle: 'Doorgaan met Google', cancel: 'Annuleren',
    nameRequired: 'Vul een naam in.', layoutRequired: 'Kies hoe de documenten geordend worden.',
    folderNameRequired: 'Vul de naam van de map in.', redirecting: 'Doorsturen naar Google…',
    pickerHeading: 'Doelmap kiezen',
    pickerIntro: 'De documenten van "{name}" worden gekopieerd naar een map met de naam van uw bedrijf, in de map die u kiest.',
    myDrive: 'Mijn Drive', sharedDrives: 'Gedeelde drives', currentLocation: 'Huidige locatie',
    subfolders: 'Submappen', subfoldersOf: 'Submappen van "{name}"', noSubfolders: 'Deze map bevat geen submappen.',
    noSharedDrives: 'Dit account heeft geen toegang tot gedeelde drives.', moreFolders: 'Meer mappen tonen',
    newFolderLabel: 'Nieuwe map', createFolderHere: 'Hier een map maken',
    folderCreated: 'Map "{name}" gemaakt.', selectCurrent: 'Huidige map selecteren',
    currentFolder: 'Huidige map: {path}', pickSharedDrive: 'Open een gedeelde drive om een map te kiezen.',
    targetChosen: 'Gekozen map: {path}. Het kopiëren van de documenten begint.',
    statusLabel: 'Status', accountLabel: 'Google-account', folderLabel: 'Map', layoutLabel: 'Ordening',
    copyLabel: 'Eerste kopie', lastSyncLabel: 'Laatste synchronisatie', never: 'Nooit', none: 'Geen',
    chooseFolder: 'Andere map kiezen', chooseTheFolder: 'Map kiezen', resync: 'Alles opnieuw kopiëren',
    reconnect: 'Opnieuw koppelen', retry: 'Opnieuw proberen', disconnect: 'Ontkoppelen',
    renameLabel: 'Koppeling hernoemen', rename: 'Hernoemen', renamed: 'Koppeling hernoemd naar "{name}".',
    resyncStarted: 'Alle documenten worden gecontroleerd: wat in Google Drive ontbreekt of gewijzigd is, wordt opnieuw gekopieerd, bestanden die al up-to-date zijn niet, en dubbels gaan naar de prullenbak.',
    layoutChangeLabel: 'Ordening van de documenten', localeChangeLabel: 'Mapnamen', saveLayout: 'Ordening opslaan',
    reorganiseHint: 'De reeds gekopieerde bestanden worden in de nieuwe structuur herschikt.',
    layoutSaved: 'Ordening opgeslagen.',
    layoutReorganising: 'Ordening opgeslagen. De reeds gekopieerde bestanden worden in de nieuwe structuur herschikt.',
    layoutUnchanged: 'Niets te wijzigen: de koppeling gebruikt deze ordening al.',
    deleteTitle: 'Deze Google Drive ontkoppelen?',
    deleteText: 'eFactori stuurt geen documenten meer naar "{name}". Reeds gekopieerde bestanden blijven in Google Drive.',
    deleted: '"{name}" is ontkoppeld. Reeds gekopieerde bestanden blijven in Google Drive.',
    'status.awaiting_authorization': 'Wacht op toestemming van Google',
    'status.awaiting_folder': 'Doelmap nog te kiezen',
    'status.active': 'Actief: documenten worden automatisch gekopieerd',
    'status.needs_reauthorization': 'Google-toegang verloren: opnieuw koppelen nodig',
    'status.error': 'Probleem: actie van uw kant nodig',
    'layout.year': 'Per jaar', 'layout.year_month': 'Per jaar en maand', 'layout.year_kind': 'Per jaar en documenttype',
    'copy.none': 'Nog niet begonnen', 'copy.pending': 'Begint zo…',
    'copy.running': '{synced} van {listed} documenten gekopieerd', 'copy.done': 'Klaar: {synced} documenten gekopieerd',
    'copy.failed': 'Onderbroken na {synced} gekopieerde documenten: start de synchronisatie opnieuw',
    copyFailed: ' ({failed} mislukt)',
    'problem.awaiting_authorization': 'Google heeft deze koppeling nog niet goedgekeurd. Klik op "Opnieuw koppelen" om het toestemmingsscherm van Google te openen.',
    'problem.awaiting_folder': 'Kies de Google Drive-map die de documenten ontvangt.',
    'problem.needs_reauthorization': 'Google aanvaardt de toegang van eFactori tot deze Drive niet meer (ingetrokken of verlopen). Klik op "Opnieuw koppelen": er gaat niets verloren.',
    'problem.quota': 'De opslag van het Google-account is vol. Maak ruimte vrij in Google Drive (of koop extra opslag) en klik dan op "Opnieuw proberen".',
    'problem.folder': 'De gekozen map is niet meer bruikbaar (verwijderd, in de prullenbak of zonder schrijfrechten). Kies een andere map.',
    'problem.full': 'De gekozen map of gedeelde drive bevat zoveel items als Google Drive toestaat. Kies een map elders (of maak ruimte vrij in de gedeelde drive).',
    'problem.domainPolicy': 'De Google Workspace-beheerder van dit account heeft apps de toegang tot Google Drive ontzegd. Vraag de beheerder deze app toe te staan en klik dan op "Opnieuw proberen".',
    'result.ok': 'Google Drive gekoppeld met het account {email}.',
    'result.okPick': 'Google Drive gekoppeld met het account {email}. Kies nu de doelmap.',
    'result.denied': 'U hebt de toestemming geannuleerd op het scherm van Google. De koppeling "{name}" wacht nog op uw toestemming: klik op "Opnieuw koppelen" om het opnieuw te proberen.',
    'result.error': 'Google kon de koppeling van "{name}" niet voltooien. Probeer opnieuw met "Opnieuw koppelen".',
    'err.needs-reauthorization': 'Google aanvaardt de toegang van eFactori tot deze Drive niet meer. Klik op "Opnieuw koppelen".',
    'err.drive-unavailable': 'Google Drive antwoordt momenteel niet. Probeer het zo meteen opnieuw.',
    'err.conflict': 'Deze actie is niet mogelijk in de huidige staat van de koppeling; de pagina is vernieuwd.',
    'err.network': 'De dienst antwoordt niet. Controleer uw verbinding en probeer opnieuw.',
    'err.validation': 'Verbeter de aangeduide velden.',
    'err.quota': 'De opslag van het Google-account is vol. Maak ruimte vrij in Google Drive (of koop extra opslag) en probeer opnieuw.',
    'err.name-taken': 'Een andere Google Drive-koppeling heeft al deze naam. Kies een andere naam.',
    'err.consent-required': 'Google heeft deze koppeling nog niet toegestaan. Klik op "Opnieuw koppelen" om het toestemmingsscherm van Google te openen.',
    'err.no-target': 'Deze koppeling heeft geen bruikbare map. Kies de Google Drive-map die de documenten ontvangt.',
    'err.connection-limit-reached': 'Dit bedrijf heeft al het maximale aantal Google Drive-koppelingen. Ontkoppel er eerst een voordat u een nieuwe toevoegt.',
    'err.target-in-use': 'Deze map ontvangt al de documenten van een andere Google Drive-koppeling. Kies een andere map.',
    'err.target-in-use-named': 'Deze map ontvangt al de documenten van de koppeling "{name}". Kies een andere map, of ontkoppel eerst "{name}".',
  },
  en: {
    skip: 'Skip to content', language: 'Language', loading: 'Loading…',
    pageTitle: 'Apps and connections', appsHeading: 'Available apps',
    gdTitle: 'Sync and backup with Google Drive',
    gdIntro: 'Every invoice, credit note and quote is copied automatically to the Google Drive you choose, then kept up to date. Nothing changes in eFactori.',
    integrationState: 'Status:', enabled: 'On', disabled: 'Off',
    connectionCount: '({n} Google Drive(s) connected)',
    enable: 'Turn on', disable: 'Turn off', configure: 'Configure',
    enabledNotice: 'Google Drive sync is on. Click "Configure" to connect a Drive.',
    disabledNotice: 'Google Drive sync is off. Your connections are kept.',
    backToApps: '← Apps and connections', backToConnections: '← Connected Google Drives',
    backToConnection: '← Back to the connection',
    connectionsHeading: 'Connected Google Drives', connectionsEmpty: 'No Google Drive is connected yet.',
    addDrive: 'Add Google Drive', open: 'Open', addHeading: 'Add Google Drive',
    nameLabel: 'Connection name', nameHint: 'For example "Accounting". It helps you recognise this Drive.',
    layoutLegend: 'How should documents be arranged in the folder?', example: 'Example:',
    layoutYear: 'One folder per year', layoutYearEx: 'Acme/2024/Invoice.pdf',
    layoutYearMonth: 'One folder per year, then per month', layoutYearMonthEx: 'Acme/2024/03/Invoice.pdf',
    layoutYearKind: 'One folder per year, then per document type', layoutYearKindEx: 'Acme/2024/Sales invoices/Invoice.pdf',
    consentHint: 'You will be sent to Google to allow eFactori to write to your Drive.',
    connectGoogle: 'Continue with Google', cancel: 'Cancel',
    nameRequired: 'Enter a name.', layoutRequired: 'Choose how documents are arranged.',
    folderNameRequired: 'Enter the folder name.', redirecting: 'Sending you to Google…',
    pickerHeading: 'Choose the destination folder',
    pickerIntro: 'Documents of "{name}" are copied into a folder named after your company, created inside the folder you select.',
    myDrive: 'My Drive', sharedDrives: 'Shared drives', currentLocation: 'Current location',
    subfolders: 'Subfolders', subfoldersOf: 'Subfolders of "{name}"', noSubfolders: 'This folder has no subfolders.',
    noSharedDrives: 'This account has no shared drives.', moreFolders: 'Show more folders',
    newFolderLabel: 'New folder', createFolderHere: 'Create a folder here',
    folderCreated: 'Folder "{name}" created.', selectCurrent: 'Select the current folder',
    currentFolder: 'Current folder: {path}', pickSharedDrive: 'Open a shared drive to choose a folder.',
    targetChosen: 'Folder chosen: {path}. Copying the documents starts now.',
    statusLabel: 'Status', accountLabel: 'Google account', folderLabel: 'Folder', layoutLabel: 'Arrangement',
    copyLabel: 'Initial copy', lastSyncLabel: 'Last sync', never: 'Never', none: 'None',
    chooseFolder: 'Choose another folder', chooseTheFolder: 'Choose the folder', resync: 'Copy everything again',
    reconnect: 'Reconnect', retry: 'Try again', disconnect: 'Disconnect',
    renameLabel: 'Rename the connection', rename: 'Rename', renamed: 'Connection renamed to "{name}".',
    resyncStarted: 'Every document will be checked: what is missing or changed in Google Drive is copied again, files already up to date are not sent again, and duplicates are moved to the trash.',
    layoutChangeLabel: 'How documents are arranged', localeChangeLabel: 'Folder names', saveLayout: 'Save arrangement',
    reorganiseHint: 'Files already copied will be reorganised into the new structure.',
    layoutSaved: 'Arrangement saved.',
    layoutReorganising: 'Arrangement saved. Files already copied are being reorganised into the new structure.',
    layoutUnchanged: 'Nothing to change: the connection already uses this arrangement.',
    deleteTitle: 'Disconnect this Google Drive?',
    deleteText: 'eFactori will stop sending documents to "{name}". Files already copied stay in Google Drive.',
    deleted: '"{name}" is disconnected. Files already copied stay in Google Drive.',
    'status.awaiting_authorization': 'Waiting for Google authorization',
    'status.awaiting_folder': 'Destination folder to choose',
    'status.active': 'Active: documents are copied automatically',
    'status.needs_reauthorization': 'Google access lost: reconnect needed',
    'status.error': 'Problem: action needed from you',
    'layout.year': 'By year', 'layout.year_month': 'By year and month', 'layout.year_kind': 'By year and document type',
    'copy.none': 'Not started yet', 'copy.pending': 'About to start…',
    'copy.running': '{synced} of {listed} documents copied', 'copy.done': 'Done: {synced} documents copied',
    'copy.failed': 'Stopped after {synced} documents copied: sync again',
    copyFailed: ' ({failed} failed)',
    'problem.awaiting_authorization': 'Google has not authorized this connection yet. Click "Reconnect" to open Google\'s consent screen.',
    'problem.awaiting_folder': 'Choose the Google Drive folder that receives the documents.',
    'problem.needs_reauthorization': 'Google no longer accepts eFactori\'s access to this Drive (it was removed or expired). Click "Reconnect" to authorize it again: nothing is lost.',
    'problem.quota': 'The Google account\'s storage is full. Free up space in Google Drive (or buy more storage), then click "Try again".',
    'problem.folder': 'The chosen folder can no longer be used (deleted, in the trash, or read-only). Choose another folder.',
    'problem.full': 'The chosen folder or shared drive holds as many items as Google Drive allows. Choose a folder elsewhere (or make room in the shared drive).',
    'problem.domainPolicy': 'The Google Workspace administrator of this account has blocked apps from using Google Drive. Ask them to allow this app, then click "Try again".',
    'result.ok': 'Google Drive connected with the account {email}.',
    'result.okPick': 'Google Drive connected with the account {email}. Now choose the destination folder.',
    'result.denied': 'You cancelled on Google\'s consent screen. The connection "{name}" is still waiting for your authorization: click "Reconnect" to try again.',
    'result.error': 'Google could not complete the connection of "{name}". Try again with "Reconnect".',
    'err.needs-reauthorization': 'Google no longer accepts eFactori\'s access to this Drive. Click "Reconnect" to authorize it again.',
    'err.drive-unavailable': 'Google Drive is not answering right now. Try again in a moment.',
    'err.conflict': 'This action is not possible in the connection\'s current state; the page was refreshed.',
    'err.network': 'The service is not answering. Check your connection and try again.',
    'err.validation': 'Correct the fields shown.',
    'err.quota': "The Google account's storage is full. Free up space in Google Drive (or buy more storage), then try again.",
    'err.name-taken': 'Another Google Drive connection already has this name. Choose another name.',
    'err.consent-required': 'Google has not authorized this connection yet. Click "Reconnect" to open Google\'s consent screen.',
    'err.no-target': 'This connection has no usable folder. Choose the Google Drive folder that will receive the documents.',
    'err.connection-limit-reached': 'This company already has as many Google Drive connections as allowed. Disconnect one before adding another.',
    'err.target-in-use': 'This folder already receives the documents of another Google Drive connection. Choose another folder.',
    'err.target-in-use-named': 'This folder already receives the documents of the connection "{name}". Choose another folder, or disconnect "{name}" first.',
  },
};

const PROBLEM_BASE = 'https://drivesync.efactori.example/problems/';
const COPY_POLL_MS = 2000;

const state = {
  config: null,
  lang: 'fr',
  view: null,
  render: null, // re-renders the current view after a language change
  integration: null,
  conn: null, // the connection shown in detail or picker
  picker: null, // {listing, folders, rootId}
  pollTimer: null,
  renameFor: '', // the connection and name the rename field was filled from
  layoutFor: '', // the connection, layout and locale the layout form was filled from
};

const $ = (id) => document.getElementById(id);

function t(key, vars = {}) {
  const s = I18N[state.lang][key] ?? I18N.fr[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = `${t('pageTitle')} — eFactori`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').value = state.lang;
}

// ---------------------------------------------------------------- API

class APIError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.kind = (problem.type || '').startsWith(PROBLEM_BASE) ? problem.type.slice(PROBLEM_BASE.length) : '';
  }
}

async function loadConfig() {
  const resp = await fetch('/config.json', { cache: 'no-store' });
  if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
  state.config = await resp.json();
}

async function api(method, path, body, retried = false) {
  const init = { method, headers: { Authorization: `Bearer ${state.config.token}`, Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(state.config.apiUrl + path, init);
  } catch (e) {
    throw new APIError(0, { type: PROBLEM_BASE + 'network', title: t('err.network') });
  }
  if (resp.status === 401 && !retried) { // the session's token expired: get a fresh one once
    await loadConfig();
    return api(method, path, body, true);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) throw new APIError(resp.status, data && typeof data === 'object' ? data : { title: `HTTP ${resp.status}`, detail: text });
  return data;
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------- messages

function clearMessages() {
  $('notice').hidden = true;
  $('notice').textContent = '';
  $('alert').hidden = true;
  $('alert').textContent = '';
}

function notify(text, tone = 'ok') {
  const n = $('notice');
  n.className = `notice notice-${tone}`;
  n.textContent = text;
  n.hidden = false;
}

// showProblem shows an API error in the page's alert: our sentence for the problems we know,
// and the API's own title and detail.
function showProblem(err, sentence = '') {
  const a = $('alert');
  a.textContent = '';
  const p = err.problem || {};
  const known = sentence || (err.kind && I18N.fr[`err.${err.kind}`] ? t(`err.${err.kind}`) : '');
  const main = document.createElement('p');
  main.className = 'problem-main';
  main.textContent = known || p.title || String(err.message || err);
  a.append(main);
  if (p.title || p.detail) {
    const d = document.createElement('p');
    d.className = 'problem-detail';
    d.textContent = [known ? p.title : '', p.detail].filter(Boolean).join(' — ');
    if (d.textContent) a.append(d);
  }
  a.hidden = false;
}

// fieldErrors puts a validation problem's errors next to their fields; map is pointer → [input, errorElement].
// It returns whether any error found its field.
function fieldErrors(err, map) {
  const list = (err.problem && Array.isArray(err.problem.errors)) ? err.problem.errors : [];
  let placed = false;
  for (const fe of list) {
    const target = map[fe.pointer];
    if (!target) continue;
    setFieldError(target[0], target[1], fe.detail);
    placed = true;
  }
  return placed;
}

function setFieldError(input, el, text) {
  el.textContent = text;
  el.hidden = !text;
  if (input) {
    if (text) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }
}

// ---------------------------------------------------------------- views

function show(view, render, focusEl) {
  stopPolling();
  $('loading').hidden = true;
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${view}`;
  state.view = view;
  state.render = render;
  const heading = focusEl || document.querySelector(`#view-${view} h2`);
  if (heading) heading.focus();
}

function stopPolling() {
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

async function run(fn) {
  try {
    await fn();
  } catch (err) {
    console.error(err);
    if (err instanceof APIError) showProblem(err);
    else showProblem({ problem: { title: String(err.message || err) } });
  }
}

// Screen 1 ---------------------------------------------------------

async function showApps({ keepMessages = false } = {}) {
  if (!keepMessages) clearMessages();
  state.integration = await api('GET', '/v1/integration');
  renderApps();
  show('apps', renderApps);
}

function renderApps() {
  const on = !!(state.integration && state.integration.enabled);
  $('integration-state').textContent = on ? t('enabled') : t('disabled');
  $('integration-count').textContent = state.integration ? t('connectionCount', { n: state.integration.connectionCount }) : '';
  $('btn-enable').hidden = on;
  $('btn-disable').hidden = !on;
  $('btn-configure').disabled = !on;
}

async function setIntegration(enabled) {
  clearMessages();
  state.integration = await api('PUT', '/v1/integration', { enabled });
  renderApps();
  notify(enabled ? t('enabledNotice') : t('disabledNotice'));
  (enabled ? $('btn-configure') : $('btn-enable')).focus();
}

// Screen 2 ---------------------------------------------------------

async function showConnections({ keepMessages = false } = {}) {
  if (!keepMessages) clearMessages();
  const { connections } = await api('GET', '/v1/connections');
  const render = () => renderConnections(connections);
  render();
  show('connections', render);
}

function renderConnections(connections) {
  const list = $('connections-list');
  list.textContent = '';
  $('connections-empty').hidden = connections.length > 0;
  for (const c of connections) {
    const li = document.createElement('li');
    li.dataset.connection = c.id;
    const info = document.createElement('div');
    const name = document.createElement('div');
    name.className = 'conn-name';
    name.textContent = c.name;
    const badge = document.createElement('span');
    badge.className = `badge ${c.status}`;
    badge.textContent = t(`status.${c.status}`);
    const sub = document.createElement('div');
    sub.className = 'muted';
    sub.textContent = [c.googleAccountEmail, c.target ? targetPath(c.target) : ''].filter(Boolean).join(' · ');
    info.append(name, badge, sub);
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = t('open');
    open.setAttribute('aria-label', `${t('open')} : ${c.name}`);
    open.addEventListener('click', () => run(() => showDetail(c.id)));
    li.append(info, open);
    list.append(li);
  }
}

// Screen 3 ---------------------------------------------------------

function showAdd() {
  clearMessages();
  const f = $('add-form');
  f.reset();
  setFieldError($('add-name'), $('add-name-error'), '');
  setFieldError(null, $('add-layout-error'), '');
  show('add', () => {});
}

async function submitAdd(ev) {
  ev.preventDefault();
  clearMessages();
  const name = $('add-name').value.trim();
  const layout = new FormData($('add-form')).get('folderLayout');
  setFieldError($('add-name'), $('add-name-error'), name ? '' : t('nameRequired'));
  setFieldError(null, $('add-layout-error'), layout ? '' : t('layoutRequired'));
  if (!name) { $('add-name').focus(); return; }
  if (!layout) { $('layout-year').focus(); return; }
  try {
    const created = await api('POST', '/v1/connections', { name, folderLayout: layout, locale: state.lang });
    notify(t('redirecting'));
    window.location.assign(created.authorizationUrl);
  } catch (err) {
    if (err instanceof APIError && err.kind === 'name-taken') {
      setFieldError($('add-name'), $('add-name-error'), t('err.name-taken'));
      $('add-name').focus();
      return;
    }
    if (err instanceof APIError && fieldErrors(err, {
      '/name': [$('add-name'), $('add-name-error')],
      '/folderLayout': [null, $('add-layout-error')],
    })) {
      showProblem(err);
      ($('add-name').getAttribute('aria-invalid') ? $('add-name') : $('layout-year')).focus();
      return;
    }
    throw err;
  }
}

async function authorize(conn) {
  clearMessages();
  const { authorizationUrl } = await api('POST', `/v1/connections/${enc(conn.id)}/authorization`);
  notify(t('redirecting'));
  window.location.assign(authorizationUrl);
}

// Screen 5 ---------------------------------------------------------

async function showDetail(id, { keepMessages = false } = {}) {
  if (!keepMessages) clearMessages();
  state.conn = await api('GET', `/v1/connections/${enc(id)}`);
  $('detail-problem-api').hidden = true;
  renderDetail();
  show('detail', renderDetail);
  schedulePoll();
}

// targetPath shows a target's folder names; the API names the My Drive root in English.
function targetPath(target) {
  return (target.path || []).map((n, i) => (i === 0 && n === 'My Drive' ? t('myDrive') : n)).join(' / ');
}

function fmtTime(s) {
  if (!s) return t('never');
  return new Intl.DateTimeFormat(`${state.lang}-BE`, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(s));
}

// problemFor says what is wrong with a connection in words, and which action fixes it.
function problemFor(c) {
  switch (c.status) {
    case 'awaiting_authorization':
      return { text: t('problem.awaiting_authorization'), label: t('reconnect'), act: () => authorize(c) };
    case 'needs_reauthorization':
      return { text: t('problem.needs_reauthorization'), label: t('reconnect'), act: () => authorize(c) };
    case 'awaiting_folder':
      return { text: t('problem.awaiting_folder'), label: t('chooseTheFolder'), act: () => showPicker(c.id) };
    case 'error':
      switch (c.lastError && c.lastError.code) {
        case 'storageQuotaExceeded':
          return { text: t('problem.quota'), label: t('retry'), act: () => resync(c) };
        case 'domainPolicy':
          return { text: t('problem.domainPolicy'), label: t('retry'), act: () => resync(c) };
        case 'teamDriveFileLimitExceeded':
        case 'numChildrenInNonRootLimitExceeded':
          return { text: t('problem.full'), label: t('chooseFolder'), act: () => showPicker(c.id) };
      }
      return { text: t('problem.folder'), label: t('chooseFolder'), act: () => showPicker(c.id) };
    default:
      return null;
  }
}

function renderDetail() {
  const c = state.conn;
  $('detail-heading').textContent = c.name;
  const status = $('detail-status');
  status.textContent = '';
  const badge = document.createElement('span');
  badge.className = `badge ${c.status}`;
  badge.id = 'detail-status-text';
  badge.textContent = t(`status.${c.status}`);
  status.append(badge);
  $('detail-account').textContent = c.googleAccountEmail || t('none');
  $('detail-folder').textContent = c.target ? targetPath(c.target) : t('none');
  $('detail-layout').textContent = t(`layout.${c.folderLayout}`);
  const ic = c.initialCopy;
  let copy = t(`copy.${ic.state}`, ic);
  if (ic.failed > 0) copy += t('copyFailed', ic);
  $('detail-copy').textContent = copy;
  const prog = $('detail-progress');
  prog.hidden = !['running', 'done', 'failed'].includes(ic.state) || ic.listed === 0;
  prog.max = Math.max(ic.listed, 1);
  prog.value = Math.min(ic.synced + ic.failed, prog.max);
  $('detail-lastsync').textContent = fmtTime(c.lastSyncAt);

  const pb = problemFor(c);
  if ($('detail-problem').hidden !== !pb) $('detail-problem-api').hidden = true;
  $('detail-problem').hidden = !pb;
  if (pb) {
    $('detail-problem-text').textContent = pb.text;
    const extra = c.lastError && c.lastError.message ? ` (${c.lastError.message})` : '';
    $('detail-problem-text').title = extra.trim();
    const btn = $('detail-problem-action');
    btn.textContent = pb.label;
    btn.onclick = () => run(pb.act);
  }
  const granted = ['active', 'error'].includes(c.status);
  $('detail-choose').hidden = !granted || (pb && pb.label === t('chooseFolder'));
  $('detail-resync').hidden = c.status !== 'active';
  // Polling re-renders every few seconds: the rename field is only reset when the connection
  // shown, or its name, changed, so it never overwrites what the user is typing.
  const key = `${c.id}\n${c.name}`;
  if (state.renameFor !== key) {
    state.renameFor = key;
    $('rename-name').value = c.name;
    setFieldError($('rename-name'), $('rename-error'), '');
  }
  const layoutKey = `${c.id}\n${c.folderLayout}\n${c.locale}`;
  if (state.layoutFor !== layoutKey) {
    state.layoutFor = layoutKey;
    $('layout-select').value = c.folderLayout;
    $('locale-select').value = c.locale;
    setLayoutError('');
  }
  // On an active connection a new layout or locale moves what is already in Drive: say so
  // before the customer saves.
  const active = c.status === 'active';
  $('layout-reorganise-hint').hidden = !active;
  for (const id of ['layout-select', 'locale-select']) {
    $(id).setAttribute('aria-describedby', active ? 'layout-reorganise-hint layout-error' : 'layout-error');
  }
}

function setLayoutError(text) {
  setFieldError($('layout-select'), $('layout-error'), text);
  if (text) $('locale-select').setAttribute('aria-invalid', 'true'); else $('locale-select').removeAttribute('aria-invalid');
}

function schedulePoll() {
  stopPolling();
  const c = state.conn;
  if (!c || !['pending', 'running'].includes(c.initialCopy.state)) return;
  state.pollTimer = setTimeout(async () => {
    if (state.view !== 'detail' || !state.conn || state.conn.id !== c.id) return;
    try {
      state.conn = await api('GET', `/v1/connections/${enc(c.id)}`);
      renderDetail();
    } catch (err) {
      console.warn('poll', err);
    }
    schedulePoll();
  }, COPY_POLL_MS);
}

async function resync(c) {
  clearMessages();
  try {
    state.conn = await api('POST', `/v1/connections/${enc(c.id)}/resync`);
  } catch (err) {
    return driveActionFailed(c, err);
  }
  renderDetail();
  notify(t('resyncStarted'));
  schedulePoll();
}

async function rename(ev) {
  ev.preventDefault();
  clearMessages();
  const c = state.conn;
  const name = $('rename-name').value.trim();
  if (!name) {
    setFieldError($('rename-name'), $('rename-error'), t('nameRequired'));
    $('rename-name').focus();
    return;
  }
  try {
    state.conn = await api('PATCH', `/v1/connections/${enc(c.id)}`, { name });
  } catch (err) {
    if (err instanceof APIError && err.kind === 'name-taken') {
      setFieldError($('rename-name'), $('rename-error'), t('err.name-taken'));
      $('rename-name').focus();
      return;
    }
    if (err instanceof APIError && fieldErrors(err, { '/name': [$('rename-name'), $('rename-error')] })) {
      $('rename-name').focus();
      return;
    }
    throw err;
  }
  renderDetail();
  notify(t('renamed', { name: state.conn.name }));
}

// saveLayout changes the layout and the kind folders' language. On an active connection the
// API starts a run that moves the files already copied; the page follows its progress.
async function saveLayout(ev) {
  ev.preventDefault();
  clearMessages();
  const c = state.conn;
  const body = {};
  if ($('layout-select').value !== c.folderLayout) body.folderLayout = $('layout-select').value;
  if ($('locale-select').value !== c.locale) body.locale = $('locale-select').value;
  if (!Object.keys(body).length) {
    notify(t('layoutUnchanged'));
    return;
  }
  try {
    state.conn = await api('PATCH', `/v1/connections/${enc(c.id)}`, body);
  } catch (err) {
    if (err instanceof APIError && err.kind === 'validation') {
      const details = (err.problem.errors || []).map((fe) => fe.detail).join(' ');
      setLayoutError(details || t('err.validation'));
      $('layout-select').focus();
      return;
    }
    throw err;
  }
  renderDetail();
  notify(c.status === 'active' && state.conn.initialCopy.state === 'pending' ? t('layoutReorganising') : t('layoutSaved'));
  schedulePoll();
}

function askDelete() {
  const c = state.conn;
  $('delete-text').textContent = t('deleteText', { name: c.name });
  const dlg = $('delete-dialog');
  dlg.showModal();
  $('delete-title').focus();
}

async function confirmDelete() {
  const c = state.conn;
  $('delete-dialog').close();
  clearMessages();
  await api('DELETE', `/v1/connections/${enc(c.id)}`);
  state.conn = null;
  notify(t('deleted', { name: c.name }));
  await showConnections({ keepMessages: true });
}

// driveActionFailed handles an error from a call that reached Google Drive: a lost grant or a
// state change reloads the connection so its status and the action to take show.
async function driveActionFailed(c, err) {
  if (!(err instanceof APIError)) throw err;
  if (err.kind === 'drive-action-required') { // stay where the customer is, and say what to do
    showProblem(err, err.problem.code === 'storageQuotaExceeded' ? t('err.quota') : '');
    return;
  }
  if (['needs-reauthorization', 'consent-required', 'no-target', 'conflict'].includes(err.kind)) {
    await showDetail(c.id);
    const p = err.problem;
    if ($('detail-problem').hidden) {
      showProblem(err);
    } else { // the box already says what to do in the page's language; add what the API said
      $('detail-problem-api').textContent = [p.title, p.detail].filter(Boolean).join(' — ');
      $('detail-problem-api').hidden = false;
    }
    return;
  }
  throw err;
}

// Screen 4 ---------------------------------------------------------

async function showPicker(id, parent = 'root') {
  clearMessages();
  if (!state.conn || state.conn.id !== id) state.conn = await api('GET', `/v1/connections/${enc(id)}`);
  state.picker = { listing: null, folders: [], rootId: null };
  $('create-folder-form').reset();
  setFieldError($('new-folder-name'), $('new-folder-error'), '');
  try {
    await loadFolders(parent);
  } catch (err) {
    return driveActionFailed(state.conn, err);
  }
  show('picker', renderPicker);
}

async function loadFolders(parent, { append = false } = {}) {
  const c = state.conn;
  let path = `/v1/connections/${enc(c.id)}/folders?parent=${enc(parent)}`;
  if (append && state.picker.listing.nextPageToken) path += `&pageToken=${enc(state.picker.listing.nextPageToken)}`;
  const listing = await api('GET', path);
  if (parent === 'root') state.picker.rootId = listing.folder.id;
  state.picker.folders = append ? state.picker.folders.concat(listing.folders) : listing.folders;
  state.picker.listing = listing;
  state.picker.parent = parent;
  renderPicker();
}

async function navigate(parent, focusId) {
  clearMessages();
  try {
    await loadFolders(parent);
  } catch (err) {
    return driveActionFailed(state.conn, err);
  }
  const btn = focusId && document.querySelector(`#picker-list button[data-folder="${CSS.escape(focusId)}"]`);
  (btn || $('picker-folder-heading')).focus();
}

function folderName(f) {
  if (f.id === 'drives') return t('sharedDrives');
  if (f.id === 'root' || (state.picker && f.id === state.picker.rootId)) return t('myDrive');
  return f.name;
}

// crumbs is the listed folder's path from the top, itself last.
function crumbs() {
  const l = state.picker.listing;
  const path = (l.folder.path || []).slice();
  if (!path.length || path[path.length - 1].id !== l.folder.id) path.push({ id: l.folder.id, name: l.folder.name });
  return path;
}

function renderPicker() {
  const p = state.picker;
  if (!p || !p.listing) return;
  const l = p.listing;
  const c = state.conn;
  $('picker-intro').textContent = t('pickerIntro', { name: c.name });
  const inDrives = l.folder.id === 'drives';
  const path = crumbs();
  const inShared = inDrives || path[0].id === 'drives';
  $('picker-mydrive').setAttribute('aria-pressed', String(!inShared));
  $('picker-shared').setAttribute('aria-pressed', String(inShared));

  const ol = $('breadcrumb');
  ol.textContent = '';
  path.forEach((f, i) => {
    const li = document.createElement('li');
    if (i === path.length - 1) {
      const span = document.createElement('span');
      span.setAttribute('aria-current', 'location');
      span.textContent = folderName(f);
      li.append(span);
    } else {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = folderName(f);
      b.addEventListener('click', () => navigate(f.id === p.rootId ? 'root' : f.id));
      li.append(b);
    }
    ol.append(li);
  });

  $('picker-folder-heading').textContent = inDrives ? t('sharedDrives') : t('subfoldersOf', { name: folderName(l.folder) });
  $('picker-folder-heading').tabIndex = -1;
  const list = $('picker-list');
  list.textContent = '';
  for (const f of p.folders) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.folder = f.id;
    b.textContent = f.name;
    b.addEventListener('click', () => navigate(f.id));
    li.append(b);
    list.append(li);
  }
  $('picker-empty').hidden = p.folders.length > 0;
  $('picker-empty').textContent = inDrives ? t('noSharedDrives') : t('noSubfolders');
  $('picker-more').hidden = !l.nextPageToken;
  $('create-folder-form').hidden = inDrives;
  $('picker-select').disabled = inDrives;
  $('picker-current').textContent = inDrives ? t('pickSharedDrive')
    : t('currentFolder', { path: path.map(folderName).join(' / ') });
}

async function createFolder(ev) {
  ev.preventDefault();
  clearMessages();
  const input = $('new-folder-name');
  const name = input.value.trim();
  setFieldError(input, $('new-folder-error'), name ? '' : t('folderNameRequired'));
  if (!name) { input.focus(); return; }
  const c = state.conn;
  const parent = state.picker.listing.folder.id;
  let folder;
  try {
    folder = await api('POST', `/v1/connections/${enc(c.id)}/folders`, { parentId: parent, name });
  } catch (err) {
    if (err instanceof APIError && fieldErrors(err, { '/name': [input, $('new-folder-error')] })) {
      input.focus();
      return;
    }
    return driveActionFailed(c, err);
  }
  input.value = '';
  await loadFolders(state.picker.parent);
  notify(t('folderCreated', { name: folder.name }));
  const btn = document.querySelector(`#picker-list button[data-folder="${CSS.escape(folder.id)}"]`);
  (btn || $('picker-folder-heading')).focus();
}

async function selectCurrent() {
  clearMessages();
  const c = state.conn;
  const folderId = state.picker.listing.folder.id;
  try {
    state.conn = await api('PUT', `/v1/connections/${enc(c.id)}/target`, { folderId });
  } catch (err) {
    if (err instanceof APIError && err.kind === 'target-in-use') return targetInUse(err);
    return driveActionFailed(c, err);
  }
  await showDetail(c.id);
  notify(t('targetChosen', { path: state.conn.target ? targetPath(state.conn.target) : '' }));
}

// targetInUse keeps the customer in the picker and says, in words, which connection already
// copies into the chosen folder (the problem's connectionId).
async function targetInUse(err) {
  let name = '';
  const other = err.problem.connectionId;
  if (other) {
    try {
      name = (await api('GET', `/v1/connections/${enc(other)}`)).name;
    } catch { /* the sentence without the name still says what to do */ }
  }
  showProblem(err, name ? t('err.target-in-use-named', { name }) : t('err.target-in-use'));
}

// ---------------------------------------------------------------- start

// handleReturn shows the outcome of Google's consent screen, which sends the browser back here
// with ?connection=<id>&result=ok|denied|error.
async function handleReturn(id, result) {
  history.replaceState(null, '', window.location.pathname);
  let c;
  try {
    c = await api('GET', `/v1/connections/${enc(id)}`);
  } catch (err) {
    await showConnections();
    throw err;
  }
  state.conn = c;
  if (result === 'ok' && c.status === 'awaiting_folder') {
    await showPicker(c.id);
    if (state.view === 'picker') notify(t('result.okPick', { email: c.googleAccountEmail || '' }));
    return;
  }
  await showDetail(c.id);
  if (result === 'ok') notify(t('result.ok', { email: c.googleAccountEmail || '' }));
  else notify(t(result === 'denied' ? 'result.denied' : 'result.error', { name: c.name }), 'warn');
}

function wire() {
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    try { localStorage.setItem('drivesync.lang', state.lang); } catch { /* private mode */ }
    applyLanguage();
    if (state.render) state.render();
  });
  for (const b of document.querySelectorAll('[data-go]')) {
    b.addEventListener('click', () => run(() => (b.dataset.go === 'apps' ? showApps() : showConnections())));
  }
  $('btn-enable').addEventListener('click', () => run(() => setIntegration(true)));
  $('btn-disable').addEventListener('click', () => run(() => setIntegration(false)));
  $('btn-configure').addEventListener('click', () => run(() => showConnections()));
  $('btn-add').addEventListener('click', showAdd);
  $('add-form').addEventListener('submit', (ev) => run(() => submitAdd(ev)));
  $('picker-back').addEventListener('click', () => run(() => showDetail(state.conn.id)));
  $('picker-mydrive').addEventListener('click', () => navigate('root'));
  $('picker-shared').addEventListener('click', () => navigate('drives'));
  $('picker-more').addEventListener('click', () => run(() => loadFolders(state.picker.parent, { append: true })));
  $('create-folder-form').addEventListener('submit', (ev) => run(() => createFolder(ev)));
  $('picker-select').addEventListener('click', () => run(selectCurrent));
  $('detail-choose').addEventListener('click', () => run(() => showPicker(state.conn.id)));
  $('detail-resync').addEventListener('click', () => run(() => resync(state.conn)));
  $('detail-delete').addEventListener('click', askDelete);
  $('delete-cancel').addEventListener('click', () => { $('delete-dialog').close(); $('detail-delete').focus(); });
  $('delete-confirm').addEventListener('click', () => run(confirmDelete));
  $('rename-form').addEventListener('submit', (ev) => run(() => rename(ev)));
  $('layout-form').addEventListener('submit', (ev) => run(() => saveLayout(ev)));
  for (const id of ['layout-select', 'locale-select']) $(id).addEventListener('change', () => setLayoutError(''));
  // An error next to a field goes away as soon as the field is changed.
  for (const [input, error] of [['add-name', 'add-name-error'], ['rename-name', 'rename-error'], ['new-folder-name', 'new-folder-error']]) {
    $(input).addEventListener('input', () => setFieldError($(input), $(error), ''));
  }
  for (const r of document.querySelectorAll('input[name=folderLayout]')) {
    r.addEventListener('change', () => setFieldError(null, $('add-layout-error'), ''));
  }
}

async function main() {
  let lang = 'fr';
  try { lang = localStorage.getItem('drivesync.lang') || 'fr'; } catch { /* private mode */ }
  const q = new URLSearchParams(window.location.search);
  if (I18N[q.get('lang')]) lang = q.get('lang');
  state.lang = I18N[lang] ? lang : 'fr';
  applyLanguage();
  wire();
  await run(async () => {
    await loadConfig();
    const id = q.get('connection');
    const result = q.get('result');
    if (id && ['ok', 'denied', 'error'].includes(result)) await handleReturn(id, result);
    else await showApps();
  });
  document.body.dataset.ready = 'true';
}

main();
