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
    // Problems the API answers with (its `type`), in the customer's words. The API's own title
    // and detail are English and for developers: the page never shows them.
    'err.unknown': "Une erreur inattendue s'est produite. Réessayez dans quelques instants ; si elle persiste, contactez le support eFactori en citant la référence ci-dessous.",
    'err.unavailable': 'Le service est momentanément indisponible. Réessayez dans quelques instants.',
    'err.not-found': "Cet élément n'existe plus ou n'est plus visible par ce compte Google. La page a été actualisée.",
    'err.connection-not-found': "Cette connexion n'existe plus : elle a peut-être été déconnectée.",
    'err.unauthorized': 'Votre session a expiré. Rechargez la page pour vous reconnecter.',
    'err.forbidden': "Votre compte n'a pas le droit de gérer les intégrations. Demandez-le à un administrateur de votre société.",
    'err.folder-browsing-unavailable': 'Le dossier se choisit avec le sélecteur de Google Drive.',
    'err.drive-action-required': 'Google Drive refuse cette action : elle demande une intervention dans Google Drive.',
    reference: 'Référence : {ref}',
    'drive.target_not_found': "Le dossier choisi n'existe plus ou ce compte Google ne le voit pas. Choisissez un autre dossier.",
    'drive.target_not_folder': "L'élément choisi est un fichier, pas un dossier. Choisissez un dossier.",
    'drive.target_trashed': 'Le dossier choisi est dans la corbeille. Restaurez-le dans Google Drive ou choisissez un autre dossier.',
    'drive.target_read_only': 'Ce compte Google ne peut pas ajouter de fichiers dans le dossier choisi. Choisissez un autre dossier ou demandez le droit de modification.',
    'drive.storageQuotaExceeded': "Le stockage du compte Google est plein. Libérez de l'espace dans Google Drive (ou achetez plus de stockage), puis réessayez.",
    'drive.insufficientFilePermissions': 'Ce compte Google ne peut pas écrire à cet endroit. Choisissez un autre dossier ou demandez le droit de modification.',
    'drive.numChildrenInNonRootLimitExceeded': "Ce dossier contient autant d'éléments que Google Drive le permet. Choisissez un autre dossier.",
    'drive.teamDriveFileLimitExceeded': 'Ce Drive partagé contient autant de fichiers que Google Drive le permet. Supprimez-en ou choisissez un dossier dans un autre Drive.',
    'drive.domainPolicy': "L'administrateur Google Workspace de ce compte a bloqué l'accès des applications à Google Drive. Demandez-lui d'autoriser cette application.",
    'field.name': "Ce nom n'est pas accepté : de 1 à 100 caractères, sans caractère de contrôle (tabulation, retour à la ligne…).",
    'field.folderName': "Ce nom de dossier n'est pas accepté : de 1 à 255 caractères, sans caractère de contrôle.",
    'field.folderLayout': 'Choisissez un des rangements proposés.',
    'field.locale': 'Choisissez une des langues proposées.',
    'field.folder': 'Ce dossier ne peut pas recevoir les documents. Choisissez-en un autre.',
    'problem.authorization_failed': "Google n'a pas terminé l'autorisation. Cliquez sur « Reconnecter » pour réessayer.",
    'problem.scope_not_granted': "Toutes les autorisations demandées n'ont pas été accordées sur l'écran de Google. Cliquez sur « Reconnecter » et cochez-les toutes.",
    'problem.permissions': 'Le compte Google de cette connexion ne peut plus écrire dans le dossier choisi. Choisissez un autre dossier ou rétablissez son accès.',
    'problem.copyFailed': "La copie s'est arrêtée : la liste des documents d'eFactori ou le dossier Google Drive n'a pas pu être lu. Cliquez sur « Réessayer » ; si cela se reproduit, contactez le support eFactori.",
    copyFinished: 'Copie terminée : {synced} documents copiés dans Google Drive.',
    copyFinishedFailed: 'Copie terminée : {synced} documents copiés, {failed} en échec (voir « Documents en échec »).',
    copyStopped: "La copie s'est arrêtée après {synced} documents copiés. Cliquez sur « Réessayer » pour la reprendre.",
    historyHeading: 'Derniers documents envoyés', historyEmpty: "Aucun document n'a encore été envoyé.",
    failedHeading: 'Documents en échec', failedEmpty: 'Aucun document en échec.',
    retryAll: 'Tout réessayer', allDocuments: 'Voir tous les documents',
    documentsHeading: 'Documents envoyés vers « {name} »', documentsEmpty: 'Aucun document.',
    documentsFilter: 'Afficher', 'filter.all': 'Tous', 'filter.synced': 'Envoyés', 'filter.failed': 'En échec', 'filter.pending': 'En attente',
    numberLabel: 'Numéro du document', search: 'Rechercher', showMore: 'Afficher plus',
    openInDrive: 'Ouvrir dans Google Drive', documentRetry: 'Réessayer', documentRetryLabel: 'Réessayer : {doc}',
    'docState.synced': 'Envoyé', 'docState.failed': 'En échec', 'docState.pending': 'En attente',
    'kind.sales_invoice': 'Facture de vente', 'kind.credit_note': 'Note de crédit', 'kind.quote': 'Offre',
    'kind.purchase_invoice': "Facture d'achat", 'kind.delivery_note': 'Bon de livraison', 'kind.other': 'Document',
    docSentAt: 'Envoyé le {date}', docFailedAt: 'Échec le {date}', docRevision: 'version {n}',
    retryRequested: 'Nouvel essai demandé pour {doc}. La liste se met à jour dès que le document est dans Google Drive.',
    retryAllRequested: 'Nouvel essai demandé pour {n} document(s) en échec. La liste se met à jour au fur et à mesure.',
    retryAllNone: 'Aucun document en échec à réessayer.',
    retryDone: '{doc} est maintenant dans Google Drive.', retrying: 'Nouvel essai en cours…',
    'fail.content_gone': "Ce document, ou cette version, n'existe plus dans eFactori au moment de la copie.",
    'fail.unknown_revision': "eFactori ne connaissait pas encore cette version du document au moment de la copie.",
    'fail.checksum_mismatch': "Le fichier reçu d'eFactori était abîmé à chaque essai.",
    'fail.size_mismatch': "Le fichier reçu d'eFactori était incomplet à chaque essai.",
    'fail.event_too_old': 'La modification est arrivée trop tard pour être appliquée. « Réessayer » copie la version actuelle.',
    'fail.folder_gone': 'Le dossier de destination a disparu de Google Drive pendant la copie, deux fois de suite.',
    'fail.file_keeps_changing': 'Le fichier a été supprimé ou déplacé dans Google Drive pendant la copie, plusieurs fois de suite.',
    'fail.unknown': "Ce document n'a pas pu être copié dans Google Drive.",
    pickerOpening: 'Ouverture du sélecteur de Google Drive…', pickerCancelled: "Aucun dossier n'a été choisi.",
    pickerUnavailable: "Le sélecteur de Google Drive n'a pas pu s'ouvrir. Réessayez ; si cela se reproduit, vérifiez que votre navigateur ne bloque pas les fenêtres de Google.",
    pickerIntroGoogle: 'Les documents de « {name} » seront copiés dans un dossier au nom de votre société, créé dans le dossier que vous choisissez dans le sélecteur de Google Drive.',
    openGooglePicker: 'Choisir dans Google Drive',
    'err.connection-not-active': "Les documents ne peuvent être réessayés que sur une connexion active. Faites d'abord ce que la connexion demande ci-dessus.",
    'err.integration-disabled': 'La synchronisation avec Google Drive est désactivée. Activez-la dans « Applications et connexions » pour réessayer des documents.',
    'err.nothing-to-retry': 'Ce document est déjà dans Google Drive dans sa dernière version : il n\'y a rien à réessayer.',
    'err.retry-unavailable': 'Ce document ne peut pas être réessayé seul. Cliquez sur « Tout recopier » sur la connexion.',
    docDeleted: 'Supprimé dans eFactori',
    retryFailedAgain: "{doc} n'a toujours pas pu être copié : {reason}",
    'fail.foreign_content_url': "eFactori a indiqué pour ce document une adresse de contenu qui n'est pas la sienne. Contactez le support eFactori.",
    'fail.invalid_document': 'eFactori décrit ce document d\'une façon qui ne permet pas de le copier. Contactez le support eFactori.',
    'fail.efactori_unauthorized': "eFactori a refusé l'accès au contenu du document. Contactez le support eFactori.",
    'fail.invalid_argument': 'Google Drive a refusé le fichier. Contactez le support eFactori.',
    'fail.invalid_grant': "Google n'accepte plus l'accès d'eFactori à ce Drive. Cliquez sur « Reconnecter » sur la connexion.",
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
    'err.unknown': 'Er is een onverwachte fout opgetreden. Probeer het zo meteen opnieuw; blijft het gebeuren, neem dan contact op met de eFactori-support en vermeld de referentie hieronder.',
    'err.unavailable': 'De dienst is tijdelijk niet beschikbaar. Probeer het zo meteen opnieuw.',
    'err.not-found': 'Dit item bestaat niet meer of is niet meer zichtbaar voor dit Google-account. De pagina is vernieuwd.',
    'err.connection-not-found': 'Deze koppeling bestaat niet meer: ze werd misschien ontkoppeld.',
    'err.unauthorized': 'Uw sessie is verlopen. Laad de pagina opnieuw om opnieuw aan te melden.',
    'err.forbidden': 'Uw account mag de integraties niet beheren. Vraag het aan een beheerder van uw bedrijf.',
    'err.folder-browsing-unavailable': 'De map wordt gekozen met de Google Drive-kiezer.',
    'err.drive-action-required': 'Google Drive weigert deze actie: er is een ingreep in Google Drive nodig.',
    reference: 'Referentie: {ref}',
    'drive.target_not_found': 'De gekozen map bestaat niet meer of dit Google-account ziet ze niet. Kies een andere map.',
    'drive.target_not_folder': 'Het gekozen item is een bestand, geen map. Kies een map.',
    'drive.target_trashed': 'De gekozen map staat in de prullenbak. Zet ze terug in Google Drive of kies een andere map.',
    'drive.target_read_only': 'Dit Google-account kan geen bestanden toevoegen aan de gekozen map. Kies een andere map of vraag bewerkingsrechten.',
    'drive.storageQuotaExceeded': 'De opslag van het Google-account is vol. Maak ruimte vrij in Google Drive (of koop extra opslag) en probeer opnieuw.',
    'drive.insufficientFilePermissions': 'Dit Google-account kan hier niet schrijven. Kies een andere map of vraag bewerkingsrechten.',
    'drive.numChildrenInNonRootLimitExceeded': 'Deze map bevat zoveel items als Google Drive toestaat. Kies een andere map.',
    'drive.teamDriveFileLimitExceeded': 'Deze gedeelde drive bevat zoveel bestanden als Google Drive toestaat. Verwijder bestanden of kies een map in een andere drive.',
    'drive.domainPolicy': 'De Google Workspace-beheerder van dit account heeft apps de toegang tot Google Drive ontzegd. Vraag de beheerder deze app toe te staan.',
    'field.name': 'Deze naam wordt niet aanvaard: 1 tot 100 tekens, zonder stuurtekens (tab, regeleinde…).',
    'field.folderName': 'Deze mapnaam wordt niet aanvaard: 1 tot 255 tekens, zonder stuurtekens.',
    'field.folderLayout': 'Kies een van de voorgestelde ordeningen.',
    'field.locale': 'Kies een van de voorgestelde talen.',
    'field.folder': 'Deze map kan de documenten niet ontvangen. Kies een andere map.',
    'problem.authorization_failed': 'Google heeft de autorisatie niet voltooid. Klik op "Opnieuw koppelen" om het opnieuw te proberen.',
    'problem.scope_not_granted': 'Niet alle gevraagde toestemmingen werden gegeven op het scherm van Google. Klik op "Opnieuw koppelen" en vink ze allemaal aan.',
    'problem.permissions': 'Het Google-account van deze koppeling kan niet meer schrijven in de gekozen map. Kies een andere map of herstel de toegang.',
    'problem.copyFailed': 'Het kopiëren is gestopt: de documentenlijst van eFactori of de Google Drive-map kon niet gelezen worden. Klik op "Opnieuw proberen"; gebeurt het opnieuw, neem dan contact op met de eFactori-support.',
    copyFinished: 'Kopie klaar: {synced} documenten gekopieerd naar Google Drive.',
    copyFinishedFailed: 'Kopie klaar: {synced} documenten gekopieerd, {failed} mislukt (zie "Mislukte documenten").',
    copyStopped: 'Het kopiëren is gestopt na {synced} gekopieerde documenten. Klik op "Opnieuw proberen" om verder te gaan.',
    historyHeading: 'Laatst verzonden documenten', historyEmpty: 'Er is nog geen document verzonden.',
    failedHeading: 'Mislukte documenten', failedEmpty: 'Geen mislukte documenten.',
    retryAll: 'Alles opnieuw proberen', allDocuments: 'Alle documenten bekijken',
    documentsHeading: 'Documenten verzonden naar "{name}"', documentsEmpty: 'Geen documenten.',
    documentsFilter: 'Tonen', 'filter.all': 'Alle', 'filter.synced': 'Verzonden', 'filter.failed': 'Mislukt', 'filter.pending': 'In behandeling',
    numberLabel: 'Documentnummer', search: 'Zoeken', showMore: 'Meer tonen',
    openInDrive: 'Openen in Google Drive', documentRetry: 'Opnieuw proberen', documentRetryLabel: 'Opnieuw proberen: {doc}',
    'docState.synced': 'Verzonden', 'docState.failed': 'Mislukt', 'docState.pending': 'In behandeling',
    'kind.sales_invoice': 'Verkoopfactuur', 'kind.credit_note': 'Creditnota', 'kind.quote': 'Offerte',
    'kind.purchase_invoice': 'Aankoopfactuur', 'kind.delivery_note': 'Leveringsbon', 'kind.other': 'Document',
    docSentAt: 'Verzonden op {date}', docFailedAt: 'Mislukt op {date}', docRevision: 'versie {n}',
    retryRequested: 'Nieuwe poging gevraagd voor {doc}. De lijst wordt bijgewerkt zodra het document in Google Drive staat.',
    retryAllRequested: 'Nieuwe poging gevraagd voor {n} mislukt(e) document(en). De lijst wordt gaandeweg bijgewerkt.',
    retryAllNone: 'Er zijn geen mislukte documenten om opnieuw te proberen.',
    retryDone: '{doc} staat nu in Google Drive.', retrying: 'Nieuwe poging bezig…',
    'fail.content_gone': 'Dit document, of deze versie, bestond niet meer in eFactori op het moment van het kopiëren.',
    'fail.unknown_revision': 'eFactori kende deze versie van het document nog niet op het moment van het kopiëren.',
    'fail.checksum_mismatch': 'Het bestand dat van eFactori kwam, was bij elke poging beschadigd.',
    'fail.size_mismatch': 'Het bestand dat van eFactori kwam, was bij elke poging onvolledig.',
    'fail.event_too_old': 'De wijziging kwam te laat binnen om nog toegepast te worden. "Opnieuw proberen" kopieert de huidige versie.',
    'fail.folder_gone': 'De doelmap verdween tijdens het kopiëren twee keer na elkaar uit Google Drive.',
    'fail.file_keeps_changing': 'Het bestand werd tijdens het kopiëren meermaals na elkaar verwijderd of verplaatst in Google Drive.',
    'fail.unknown': 'Dit document kon niet naar Google Drive gekopieerd worden.',
    pickerOpening: 'De Google Drive-kiezer wordt geopend…', pickerCancelled: 'Er werd geen map gekozen.',
    pickerUnavailable: 'De Google Drive-kiezer kon niet geopend worden. Probeer opnieuw; gebeurt het opnieuw, controleer dan of uw browser de vensters van Google niet blokkeert.',
    pickerIntroGoogle: 'De documenten van "{name}" worden gekopieerd naar een map met de naam van uw bedrijf, in de map die u in de Google Drive-kiezer kiest.',
    openGooglePicker: 'Kiezen in Google Drive',
    'err.connection-not-active': 'Documenten kunnen alleen opnieuw geprobeerd worden op een actieve koppeling. Doe eerst wat de koppeling hierboven vraagt.',
    'err.integration-disabled': 'Synchronisatie met Google Drive is uitgeschakeld. Schakel ze in bij "Toepassingen en koppelingen" om documenten opnieuw te proberen.',
    'err.nothing-to-retry': 'Dit document staat al in zijn laatste versie in Google Drive: er is niets opnieuw te proberen.',
    'err.retry-unavailable': 'Dit document kan niet apart opnieuw geprobeerd worden. Klik op "Alles opnieuw kopiëren" bij de koppeling.',
    docDeleted: 'Verwijderd in eFactori',
    retryFailedAgain: '{doc} kon nog altijd niet gekopieerd worden: {reason}',
    'fail.foreign_content_url': 'eFactori gaf voor dit document een inhoudsadres op dat niet van dit document is. Neem contact op met de eFactori-support.',
    'fail.invalid_document': 'eFactori beschrijft dit document op een manier die kopiëren onmogelijk maakt. Neem contact op met de eFactori-support.',
    'fail.efactori_unauthorized': 'eFactori weigerde de toegang tot de inhoud van het document. Neem contact op met de eFactori-support.',
    'fail.invalid_argument': 'Google Drive weigerde het bestand. Neem contact op met de eFactori-support.',
    'fail.invalid_grant': 'Google aanvaardt de toegang van eFactori tot deze Drive niet meer. Klik op "Opnieuw koppelen" bij de koppeling.',
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
    'err.unknown': 'Something unexpected went wrong. Try again in a moment; if it keeps happening, contact eFactori support and quote the reference below.',
    'err.unavailable': 'The service is temporarily unavailable. Try again in a moment.',
    'err.not-found': 'This item no longer exists or this Google account can no longer see it. The page was refreshed.',
    'err.connection-not-found': 'This connection no longer exists: it may have been disconnected.',
    'err.unauthorized': 'Your session has expired. Reload the page to sign in again.',
    'err.forbidden': 'Your account may not manage integrations. Ask an administrator of your company.',
    'err.folder-browsing-unavailable': 'The folder is chosen with the Google Drive picker.',
    'err.drive-action-required': 'Google Drive refuses this action: something needs fixing in Google Drive.',
    reference: 'Reference: {ref}',
    'drive.target_not_found': 'The chosen folder no longer exists or this Google account cannot see it. Choose another folder.',
    'drive.target_not_folder': 'The chosen item is a file, not a folder. Choose a folder.',
    'drive.target_trashed': 'The chosen folder is in the trash. Restore it in Google Drive or choose another folder.',
    'drive.target_read_only': 'This Google account cannot add files to the chosen folder. Choose another folder or ask for edit access.',
    'drive.storageQuotaExceeded': "The Google account's storage is full. Free up space in Google Drive (or buy more storage), then try again.",
    'drive.insufficientFilePermissions': 'This Google account cannot write there. Choose another folder or ask for edit access.',
    'drive.numChildrenInNonRootLimitExceeded': 'This folder holds as many items as Google Drive allows. Choose another folder.',
    'drive.teamDriveFileLimitExceeded': 'This shared drive holds as many files as Google Drive allows. Delete files from it or choose a folder in another drive.',
    'drive.domainPolicy': 'The Google Workspace administrator of this account has blocked apps from using Google Drive. Ask them to allow this app.',
    'field.name': 'This name is not accepted: 1 to 100 characters, without control characters (tab, line break…).',
    'field.folderName': 'This folder name is not accepted: 1 to 255 characters, without control characters.',
    'field.folderLayout': 'Choose one of the arrangements offered.',
    'field.locale': 'Choose one of the languages offered.',
    'field.folder': 'This folder cannot receive the documents. Choose another one.',
    'problem.authorization_failed': 'Google did not complete the authorization. Click "Reconnect" to try again.',
    'problem.scope_not_granted': 'Not every permission asked for was granted on Google\'s screen. Click "Reconnect" and tick them all.',
    'problem.permissions': 'The Google account of this connection can no longer write to the chosen folder. Choose another folder or restore its access.',
    'problem.copyFailed': 'The copy stopped: eFactori\'s document list or the Google Drive folder could not be read. Click "Try again"; if it happens again, contact eFactori support.',
    copyFinished: 'Copy done: {synced} documents copied to Google Drive.',
    copyFinishedFailed: 'Copy done: {synced} documents copied, {failed} failed (see "Failed documents").',
    copyStopped: 'The copy stopped after {synced} documents copied. Click "Try again" to resume it.',
    historyHeading: 'Latest documents sent', historyEmpty: 'No document has been sent yet.',
    failedHeading: 'Failed documents', failedEmpty: 'No failed documents.',
    retryAll: 'Retry all', allDocuments: 'See all documents',
    documentsHeading: 'Documents sent to "{name}"', documentsEmpty: 'No documents.',
    documentsFilter: 'Show', 'filter.all': 'All', 'filter.synced': 'Sent', 'filter.failed': 'Failed', 'filter.pending': 'Pending',
    numberLabel: 'Document number', search: 'Search', showMore: 'Show more',
    openInDrive: 'Open in Google Drive', documentRetry: 'Try again', documentRetryLabel: 'Try again: {doc}',
    'docState.synced': 'Sent', 'docState.failed': 'Failed', 'docState.pending': 'Pending',
    'kind.sales_invoice': 'Sales invoice', 'kind.credit_note': 'Credit note', 'kind.quote': 'Quote',
    'kind.purchase_invoice': 'Purchase invoice', 'kind.delivery_note': 'Delivery note', 'kind.other': 'Document',
    docSentAt: 'Sent on {date}', docFailedAt: 'Failed on {date}', docRevision: 'version {n}',
    retryRequested: 'Retry requested for {doc}. The list updates as soon as the document is in Google Drive.',
    retryAllRequested: 'Retry requested for {n} failed document(s). The list updates as they are copied.',
    retryAllNone: 'There are no failed documents to retry.',
    retryDone: '{doc} is now in Google Drive.', retrying: 'Retrying…',
    'fail.content_gone': 'This document, or this version of it, no longer existed in eFactori when it was copied.',
    'fail.unknown_revision': 'eFactori did not know this version of the document yet when it was copied.',
    'fail.checksum_mismatch': 'The file received from eFactori was damaged on every attempt.',
    'fail.size_mismatch': 'The file received from eFactori was incomplete on every attempt.',
    'fail.event_too_old': 'The change arrived too late to be applied. "Try again" copies the current version.',
    'fail.folder_gone': 'The destination folder vanished from Google Drive during the copy, twice in a row.',
    'fail.file_keeps_changing': 'The file was deleted or moved in Google Drive during the copy, several times in a row.',
    'fail.unknown': 'This document could not be copied to Google Drive.',
    pickerOpening: 'Opening the Google Drive picker…', pickerCancelled: 'No folder was chosen.',
    pickerUnavailable: 'The Google Drive picker could not open. Try again; if it happens again, check that your browser does not block Google\'s windows.',
    pickerIntroGoogle: 'Documents of "{name}" are copied into a folder named after your company, created inside the folder you choose in the Google Drive picker.',
    openGooglePicker: 'Choose in Google Drive',
    'err.connection-not-active': 'Documents can only be retried on an active connection. First do what the connection asks for above.',
    'err.integration-disabled': 'Google Drive sync is off. Turn it on in "Apps and connections" to retry documents.',
    'err.nothing-to-retry': 'This document is already in Google Drive at its latest version: there is nothing to retry.',
    'err.retry-unavailable': 'This document cannot be retried on its own. Click "Copy everything again" on the connection.',
    docDeleted: 'Deleted in eFactori',
    retryFailedAgain: '{doc} still could not be copied: {reason}',
    'fail.foreign_content_url': 'eFactori gave this document a content address that is not its own. Contact eFactori support.',
    'fail.invalid_document': 'eFactori describes this document in a way that cannot be copied. Contact eFactori support.',
    'fail.efactori_unauthorized': 'eFactori refused access to the document\'s content. Contact eFactori support.',
    'fail.invalid_argument': 'Google Drive refused the file. Contact eFactori support.',
    'fail.invalid_grant': 'Google no longer accepts eFactori\'s access to this Drive. Click "Reconnect" on the connection.',
  },
};

const PROBLEM_BASE = 'https://drivesync.efactori.example/problems/';
const COPY_POLL_MS = 2000;
const HISTORY_PAGE = 5; // documents per list on the connection screen
const DOCUMENTS_PAGE = 10; // documents per page on the documents screen
const RETRY_POLL_MS = 2000;
const RETRY_POLL_MAX = 60; // a retried document is followed for two minutes at most
const DOCUMENT_FILTERS = ['', 'synced', 'failed', 'pending'];

const state = {
  config: null,
  lang: 'fr',
  view: null,
  render: null, // re-renders the current view after a language change
  integration: null,
  conn: null, // the connection shown in detail, picker or documents
  picker: null, // {listing, folders, rootId, parent}
  pollTimer: null,
  renameFor: '', // the connection and name the rename field was filled from
  layoutFor: '', // the connection, layout and locale the layout form was filled from
  copyNotice: false, // the notice on screen is about a copy: it follows the copy's state
  history: null, // {recent, failed, error} of the connection screen
  documents: null, // {filter, number, items, nextPageToken} of the documents screen
  retrying: new Map(), // documentId → {label, polls, since: its updatedAt}: retries the page follows
  retryTimer: null,
};

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

function t(key, vars = {}) {
  const s = I18N[state.lang][key] ?? I18N.fr[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

// has reports whether the page has words for key (every language has the same keys).
const has = (key) => Object.hasOwn(I18N.fr, key);

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

// ConnectionGone is a connection the address names that no longer exists (loadConnection).
class ConnectionGone extends Error {}

async function loadConnection(id) {
  try {
    return await api('GET', `/v1/connections/${enc(id)}`);
  } catch (err) {
    if (err instanceof APIError && err.status === 404) throw new ConnectionGone(`connection ${id}: not found`);
    throw err;
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
  } catch {
    throw new APIError(0, { type: `${PROBLEM_BASE}network` });
  }
  if (resp.status === 401 && !retried) { // the session's token expired: get a fresh one once
    await loadConfig();
    return api(method, path, body, true);
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) throw new APIError(resp.status, data && typeof data === 'object' ? data : { status: resp.status });
  return data;
}

// ---------------------------------------------------------------- messages

function clearMessages() {
  $('notice').hidden = true;
  $('notice').textContent = '';
  $('alert').hidden = true;
  $('alert').textContent = '';
  state.copyNotice = false;
}

// notify shows a message in the page's status region. A copy notice ("the copy starts") is
// replaced by the copy's outcome once the copy ends (followCopy), so it never says a copy is
// under way after it finished.
function notify(text, tone = 'ok', { copy = false } = {}) {
  const n = $('notice');
  n.className = `notice notice-${tone}`;
  n.textContent = text;
  n.hidden = false;
  state.copyNotice = copy;
  if (copy) followCopy();
}

// problemText says, in the page's language, what went wrong and what to do. The API's title and
// detail are English, written for developers: they go to the console, never on the screen.
function problemText(err) {
  const p = err.problem || {};
  if (err.kind === 'drive-action-required' && p.code && has(`drive.${p.code}`)) return { text: t(`drive.${p.code}`), known: true };
  if (err.kind && has(`err.${err.kind}`)) return { text: t(`err.${err.kind}`), known: err.kind !== 'drive-action-required' };
  return { text: t('err.unknown'), known: false };
}

// problemRef is what support needs to find the error: the problem's type and code, or the HTTP
// status.
function problemRef(err) {
  const p = err.problem || {};
  return [err.kind || (err.status ? `HTTP ${err.status}` : ''), p.code].filter(Boolean).join(' / ');
}

// showProblem shows an error in the page's alert: sentence, or the page's own words for the
// problem, and for a problem it has no words for, a reference to quote to support.
function showProblem(err, sentence = '') {
  const a = $('alert');
  a.textContent = '';
  const { text, known } = sentence ? { text: sentence, known: true } : problemText(err);
  const main = document.createElement('p');
  main.className = 'problem-main';
  main.textContent = text;
  a.append(main);
  const ref = known ? '' : problemRef(err);
  if (ref) {
    const d = document.createElement('p');
    d.className = 'problem-detail';
    d.textContent = t('reference', { ref });
    a.append(d);
  }
  a.hidden = false;
  if (err && err.problem && (err.problem.title || err.problem.detail)) console.info('API problem:', err.problem);
}

// fieldErrors puts a validation problem's errors next to their fields, in the page's words for
// each field; map is pointer → [input, errorElement, i18n key]. It returns whether any error
// found its field.
function fieldErrors(err, map) {
  const list = (err.problem && Array.isArray(err.problem.errors)) ? err.problem.errors : [];
  let placed = false;
  for (const fe of list) {
    const target = map[fe.pointer];
    if (!target) continue;
    setFieldError(target[0], target[1], t(target[2]));
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

// ---------------------------------------------------------------- routes

// Every screen has its own address, kept in the URL's fragment (#/connections/<id>, …): reload,
// back, forward and bookmarks work, and the page needs no server-side routing wherever it is
// hosted. Google's consent screen still comes back to ?connection=&result= (handleReturn).
const ROUTES = [
  [/^\/$/, () => showApps()],
  [/^\/connections$/, () => showConnections()],
  [/^\/connections\/new$/, () => showAdd()],
  [/^\/connections\/([^/]+)$/, (q, id) => showDetail(id)],
  [/^\/connections\/([^/]+)\/folder$/, (q, id) => showPicker(id, q.get('parent') || 'root')],
  [/^\/connections\/([^/]+)\/documents$/, (q, id) => showDocuments(id, q.get('state') || '', q.get('number') || '')],
];

const routes = {
  detail: (id) => `/connections/${enc(id)}`,
  folder: (id, parent = 'root') => `/connections/${enc(id)}/folder${parent === 'root' ? '' : `?parent=${enc(parent)}`}`,
  documents: (id, filter = '', number = '') => {
    const q = new URLSearchParams();
    if (filter) q.set('state', filter);
    if (number) q.set('number', number);
    return `/connections/${enc(id)}/documents${q.size ? `?${q}` : ''}`;
  },
};

function currentRoute() {
  return window.location.hash.replace(/^#/, '') || '/';
}

// go shows the screen of route, adding it to the browser's history (or replacing the current
// entry, for a screen that should not be come back to).
async function go(route, { replace = false } = {}) {
  setRoute(route, { replace });
  await renderRoute();
}

// setRoute changes the address without rendering: for a change within a screen.
function setRoute(route, { replace = true } = {}) {
  const url = `${window.location.pathname}#${route}`;
  if (replace) history.replaceState(null, '', url);
  else if (currentRoute() !== route) history.pushState(null, '', url);
}

function decodeParts(parts) {
  try { return parts.map(decodeURIComponent); } catch { return null; }
}

async function renderRoute() {
  const route = currentRoute();
  const cut = route.indexOf('?');
  const path = cut < 0 ? route : route.slice(0, cut);
  const q = new URLSearchParams(cut < 0 ? '' : route.slice(cut + 1));
  for (const [re, render] of ROUTES) {
    const m = path.match(re);
    const ids = m && decodeParts(m.slice(1));
    if (!ids) continue;
    try {
      await render(q, ...ids);
    } catch (err) {
      if (!(err instanceof ConnectionGone)) throw err;
      // A bookmark, or a screen left open, of a connection that was disconnected since.
      await go('/connections', { replace: true });
      showProblem(err, t('err.connection-not-found'));
    }
    return;
  }
  await go('/', { replace: true });
}

// ---------------------------------------------------------------- views

function show(view, render, focusEl) {
  stopPolling();
  if ($('delete-dialog').open) $('delete-dialog').close();
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
    $('loading').hidden = true;
    if (err instanceof APIError) showProblem(err);
    else showProblem(new APIError(0, {}), t('err.unknown'));
  }
}

// Screen 1 ---------------------------------------------------------

async function showApps() {
  clearMessages();
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

async function showConnections() {
  clearMessages();
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
    const open = document.createElement('a');
    open.className = 'button';
    open.href = `#${routes.detail(c.id)}`;
    open.textContent = t('open');
    open.setAttribute('aria-label', `${t('open')} : ${c.name}`);
    li.append(info, open);
    list.append(li);
  }
}

// Screen 3 ---------------------------------------------------------

function showAdd() {
  clearMessages();
  $('add-form').reset();
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
      '/name': [$('add-name'), $('add-name-error'), 'field.name'],
      '/folderLayout': [null, $('add-layout-error'), 'field.folderLayout'],
      '/locale': [null, $('add-layout-error'), 'field.locale'],
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

async function showDetail(id) {
  clearMessages();
  state.conn = await loadConnection(id);
  state.history = null;
  renderDetail();
  show('detail', renderDetail);
  schedulePoll();
  await loadHistory();
}

// targetPath shows a target's folder names; the API names the My Drive root in English.
function targetPath(target) {
  return (target.path || []).map((n, i) => (i === 0 && n === 'My Drive' ? t('myDrive') : n)).join(' / ');
}

function fmtTime(s) {
  if (!s) return t('never');
  return new Intl.DateTimeFormat(`${state.lang}-BE`, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(s));
}

// problemFor says what is wrong with a connection in words, and which action fixes it. The
// words come from the connection's status and lastError.code; lastError.message is English and
// never shown.
function problemFor(c) {
  const code = c.lastError && c.lastError.code;
  const reconnect = (key) => ({ text: t(key), label: t('reconnect'), act: () => authorize(c) });
  const choose = (key) => ({ text: t(key), label: t('chooseFolder'), act: () => chooseFolder(c) });
  const retry = (key) => ({ text: t(key), label: t('retry'), act: () => resync(c) });
  switch (c.status) {
    case 'awaiting_authorization':
    case 'needs_reauthorization':
      if (code === 'scope_not_granted' || code === 'authorization_failed') return reconnect(`problem.${code}`);
      return reconnect(`problem.${c.status}`);
    case 'awaiting_folder':
      return { text: t('problem.awaiting_folder'), label: t('chooseTheFolder'), act: () => chooseFolder(c) };
    case 'error':
      switch (code) {
        case 'storageQuotaExceeded': return retry('problem.quota');
        case 'domainPolicy': return retry('problem.domainPolicy');
        case 'insufficientFilePermissions': return choose('problem.permissions');
        case 'teamDriveFileLimitExceeded':
        case 'numChildrenInNonRootLimitExceeded': return choose('problem.full');
        default: return choose('problem.folder');
      }
    case 'active':
      if (c.initialCopy.state === 'failed') return retry('problem.copyFailed');
      return null;
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
  let copy = t(`copy.${ic.state || 'none'}`, ic);
  if (ic.failed > 0) copy += t('copyFailed', ic);
  $('detail-copy').textContent = copy;
  const prog = $('detail-progress');
  prog.hidden = !['running', 'done', 'failed'].includes(ic.state) || ic.listed === 0;
  prog.max = Math.max(ic.listed, 1);
  prog.value = Math.min(ic.synced + ic.failed, prog.max);
  $('detail-lastsync').textContent = fmtTime(c.lastSyncAt);

  const pb = problemFor(c);
  $('detail-problem').hidden = !pb;
  if (pb) {
    $('detail-problem-text').textContent = pb.text;
    const btn = $('detail-problem-action');
    btn.textContent = pb.label;
    btn.onclick = () => run(pb.act);
  }
  const granted = ['active', 'error'].includes(c.status);
  $('detail-choose').hidden = !granted || (pb && pb.label === t('chooseFolder'));
  $('detail-resync').hidden = c.status !== 'active' || (pb && pb.label === t('retry'));
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
  $('history-all').href = `#${routes.documents(c.id)}`;
  renderHistory();
  followCopy();
}

// followCopy replaces a copy notice by the copy's outcome once the copy ended.
function followCopy() {
  const c = state.conn;
  if (!state.copyNotice || state.view !== 'detail' || !c) return;
  const ic = c.initialCopy;
  if (['pending', 'running'].includes(ic.state)) return;
  if (ic.state === 'done') notify(ic.failed > 0 ? t('copyFinishedFailed', ic) : t('copyFinished', ic));
  else if (ic.state === 'failed') notify(t('copyStopped', ic), 'warn');
  else clearMessages();
}

function setLayoutError(text) {
  setFieldError($('layout-select'), $('layout-error'), text);
  if (text) $('locale-select').setAttribute('aria-invalid', 'true'); else $('locale-select').removeAttribute('aria-invalid');
}

// schedulePoll follows a pending or running copy every few seconds, and the history with it.
function schedulePoll() {
  stopPolling();
  const c = state.conn;
  if (!c || !['pending', 'running'].includes(c.initialCopy.state)) return;
  state.pollTimer = setTimeout(async () => {
    if (state.view !== 'detail' || !state.conn || state.conn.id !== c.id) return;
    try {
      state.conn = await api('GET', `/v1/connections/${enc(c.id)}`);
      renderDetail();
      await loadHistory();
    } catch (err) {
      console.warn('poll', err);
    }
    if (state.view === 'detail') schedulePoll();
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
  notify(t('resyncStarted'), 'ok', { copy: true });
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
    if (err instanceof APIError && fieldErrors(err, { '/name': [$('rename-name'), $('rename-error'), 'field.name'] })) {
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
      const pointers = (err.problem.errors || []).map((fe) => fe.pointer);
      setLayoutError(pointers.includes('/locale') && !pointers.includes('/folderLayout') ? t('field.locale') : t('field.folderLayout'));
      $('layout-select').focus();
      return;
    }
    throw err;
  }
  renderDetail();
  const reorganising = c.status === 'active' && state.conn.initialCopy.state === 'pending';
  notify(reorganising ? t('layoutReorganising') : t('layoutSaved'), 'ok', { copy: reorganising });
  schedulePoll();
}

function askDelete() {
  const c = state.conn;
  $('delete-text').textContent = t('deleteText', { name: c.name });
  $('delete-dialog').showModal();
  $('delete-title').focus();
}

async function confirmDelete() {
  const c = state.conn;
  $('delete-dialog').close();
  clearMessages();
  await api('DELETE', `/v1/connections/${enc(c.id)}`);
  state.conn = null;
  await go('/connections', { replace: true });
  notify(t('deleted', { name: c.name }));
}

// driveActionFailed handles an error from a call that reached Google Drive: a lost grant or a
// state change reloads the connection, whose box says which button fixes it.
async function driveActionFailed(c, err) {
  if (!(err instanceof APIError)) throw err;
  if (err.kind === 'drive-action-required') { // stay where the customer is, and say what to do
    if (state.view === 'detail') { // the connection may be in error now: show its new status
      state.conn = await loadConnection(c.id);
      renderDetail();
    }
    showProblem(err);
    return;
  }
  if (['needs-reauthorization', 'consent-required', 'no-target', 'conflict', 'folder-browsing-unavailable'].includes(err.kind)) {
    await go(routes.detail(c.id), { replace: true });
    if ($('detail-problem').hidden) showProblem(err);
    return;
  }
  throw err;
}

// chooseFolder opens what picks a connection's folder: the page's own folder browser (drive
// scope), or the Google Picker (drive.file scope, folderSelection "picker").
async function chooseFolder(c) {
  if (await folderSelection() === 'picker') return pickWithGoogle(c);
  return go(routes.folder(c.id));
}

// folderSelection is how this deployment's customers choose a folder, from the integration:
// "browse" (the page's folder browser) or "picker" (the Google Picker).
async function folderSelection() {
  if (!state.integration) state.integration = await api('GET', '/v1/integration');
  return state.integration.folderSelection === 'picker' ? 'picker' : 'browse';
}

// pickWithGoogle lets the customer choose the folder in the Google Picker, which grants it to
// drivesync (drive.file), then makes it the target. picker.js is loaded on first use only.
async function pickWithGoogle(c) {
  clearMessages();
  notify(t('pickerOpening'));
  let picked;
  try {
    const { pickFolder } = await import('./picker.js');
    picked = await pickFolder({ api, connectionId: c.id, locale: state.lang, scriptUrl: state.config.pickerScriptUrl });
  } catch (err) {
    clearMessages();
    if (err instanceof APIError) return driveActionFailed(c, err);
    console.error('picker', err);
    showProblem(new APIError(0, {}), t('pickerUnavailable'));
    return;
  }
  clearMessages();
  if (!picked) {
    notify(t('pickerCancelled'), 'warn');
    return;
  }
  await setTarget(c, picked.id);
}

// setTarget makes folderId the connection's folder and shows the connection, whose copy starts.
async function setTarget(c, folderId) {
  try {
    state.conn = await api('PUT', `/v1/connections/${enc(c.id)}/target`, { folderId });
  } catch (err) {
    if (err instanceof APIError && err.kind === 'target-in-use') return targetInUse(err);
    if (err instanceof APIError && err.kind === 'validation') return showProblem(err, t('field.folder'));
    return driveActionFailed(c, err);
  }
  await go(routes.detail(c.id), { replace: state.view === 'picker' });
  notify(t('targetChosen', { path: state.conn.target ? targetPath(state.conn.target) : '' }), 'ok', { copy: true });
}

// History -----------------------------------------------------------

// docLabel names a document as the customer knows it: its kind and number (both may be unknown
// for a document recorded before the history kept them).
function docLabel(d) {
  const kind = t(has(`kind.${d.kind}`) ? `kind.${d.kind}` : 'kind.other');
  return `${kind} ${d.number || d.fileName || d.documentId}`;
}

// failureText says why a document was not copied, from failure.code; failure.message is English
// and never shown. An unknown code gets a general sentence and the code as a reference.
function failureText(d) {
  const code = d.failure && d.failure.code;
  if (code && has(`fail.${code}`)) return { text: t(`fail.${code}`) };
  if (code && has(`drive.${code}`)) return { text: t(`drive.${code}`) };
  return { text: t('fail.unknown'), ref: code || '' };
}

async function loadHistory() {
  const c = state.conn;
  if (!c || !c.target) {
    state.history = null;
    renderHistory();
    return;
  }
  const base = `/v1/connections/${enc(c.id)}/documents?pageSize=${HISTORY_PAGE}`;
  let lists;
  try {
    const [recent, failed] = await Promise.all([api('GET', `${base}&state=synced`), api('GET', `${base}&state=failed`)]);
    lists = { recent: recent.documents || [], failed: failed.documents || [] };
  } catch (err) {
    if (!(err instanceof APIError)) throw err;
    lists = { recent: [], failed: [], error: err };
  }
  if (state.view !== 'detail' || !state.conn || state.conn.id !== c.id) return;
  state.history = lists;
  renderHistory();
}

function renderHistory() {
  const h = state.history;
  $('detail-history').hidden = !h;
  if (!h) return;
  $('history-error').hidden = !h.error;
  if (h.error) $('history-error').textContent = problemText(h.error).text;
  fillDocuments($('history-recent'), h.recent);
  $('history-recent-empty').hidden = h.recent.length > 0 || !!h.error;
  fillDocuments($('history-failed'), h.failed);
  $('history-failed-empty').hidden = h.failed.length > 0 || !!h.error;
  $('history-retry-all').hidden = h.failed.length === 0;
}

function fillDocuments(list, docs) {
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : '';
  list.textContent = '';
  for (const d of docs) list.append(documentItem(d));
  // A refresh must not take the keyboard focus away from the list.
  const again = focused && list.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
  if (again) again.focus();
}

function documentItem(d) {
  const li = document.createElement('li');
  li.dataset.document = d.documentId;
  li.tabIndex = -1;
  const head = document.createElement('div');
  head.className = 'doc-head';
  const title = document.createElement('span');
  title.className = 'doc-title';
  title.textContent = docLabel(d);
  const badge = document.createElement('span');
  badge.className = `badge doc-${d.state}`;
  badge.textContent = has(`docState.${d.state}`) ? t(`docState.${d.state}`) : d.state;
  head.append(title, badge);
  const sub = document.createElement('div');
  sub.className = 'muted';
  let when = '';
  if (d.state === 'failed' && (d.updatedAt || d.lastSyncedAt)) when = t('docFailedAt', { date: fmtTime(d.updatedAt || d.lastSyncedAt) });
  else if (d.state === 'synced' && d.lastSyncedAt) when = t('docSentAt', { date: fmtTime(d.lastSyncedAt) });
  sub.textContent = [d.deleted ? t('docDeleted') : d.fileName, when].filter(Boolean).join(' · ');
  li.append(head, sub);
  if (d.state === 'failed') {
    const f = failureText(d);
    const p = document.createElement('p');
    p.className = 'doc-failure';
    p.textContent = f.text;
    li.append(p);
    if (f.ref) {
      const r = document.createElement('p');
      r.className = 'muted doc-ref';
      r.textContent = t('reference', { ref: f.ref });
      li.append(r);
    }
  }
  const actions = document.createElement('div');
  actions.className = 'doc-actions';
  if (d.driveFile && d.driveFile.webViewLink && d.state === 'synced' && !d.deleted) {
    const a = document.createElement('a');
    a.href = d.driveFile.webViewLink;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = t('openInDrive');
    a.dataset.focusKey = `open:${d.documentId}`;
    actions.append(a);
  }
  if (d.state === 'failed') {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.focusKey = `retry:${d.documentId}`;
    b.setAttribute('aria-label', t('documentRetryLabel', { doc: docLabel(d) }));
    if (state.retrying.has(d.documentId)) {
      b.disabled = true;
      b.textContent = t('retrying');
    } else {
      b.textContent = t('documentRetry');
      b.addEventListener('click', () => run(() => retryDocument(d)));
    }
    actions.append(b);
  }
  if (actions.childElementCount) li.append(actions);
  return li;
}

async function retryDocument(d) {
  clearMessages();
  const c = state.conn;
  try {
    await api('POST', `/v1/connections/${enc(c.id)}/documents/${enc(d.documentId)}/retry`);
  } catch (err) {
    return driveActionFailed(c, err);
  }
  state.retrying.set(d.documentId, { label: docLabel(d), polls: 0, since: d.updatedAt });
  notify(t('retryRequested', { doc: docLabel(d) }));
  rerenderDocuments();
  followRetries();
}

async function retryAll() {
  clearMessages();
  const c = state.conn;
  let res;
  try {
    res = await api('POST', `/v1/connections/${enc(c.id)}/documents:retryFailed`);
  } catch (err) {
    return driveActionFailed(c, err);
  }
  const n = (res && res.retried) || 0;
  if (!n) {
    notify(t('retryAllNone'));
    return;
  }
  const shown = state.view === 'documents' ? state.documents.items : (state.history ? state.history.failed : []);
  for (const d of shown.filter((x) => x.state === 'failed')) {
    state.retrying.set(d.documentId, { label: docLabel(d), polls: 0, since: d.updatedAt });
  }
  notify(t('retryAllRequested', { n }));
  rerenderDocuments();
  followRetries();
}

function rerenderDocuments() {
  if (state.view === 'detail') renderHistory();
  if (state.view === 'documents') renderDocuments();
}

// followRetries reads each retried document every few seconds until it is in Drive, or its new
// attempt failed too (its updatedAt moved), then refreshes the lists on screen and says so.
function followRetries() {
  if (state.retryTimer || !state.retrying.size) return;
  state.retryTimer = setTimeout(async () => {
    state.retryTimer = null;
    const c = state.conn;
    if (!c || !['detail', 'documents'].includes(state.view)) {
      state.retrying.clear();
      return;
    }
    let changed = false;
    for (const [id, r] of [...state.retrying]) {
      r.polls += 1;
      let d;
      try {
        d = await api('GET', `/v1/connections/${enc(c.id)}/documents/${enc(id)}`);
      } catch (err) {
        console.warn('retry follow', err);
        continue;
      }
      const failedAgain = d.state === 'failed' && d.updatedAt !== r.since;
      if (d.state !== 'synced' && !failedAgain && r.polls < RETRY_POLL_MAX) continue;
      state.retrying.delete(id);
      changed = true;
      if (d.state === 'synced') notify(t('retryDone', { doc: r.label }));
      else if (failedAgain) notify(t('retryFailedAgain', { doc: r.label, reason: failureText(d).text }), 'warn');
    }
    if (changed) await refreshDocuments();
    followRetries();
  }, RETRY_POLL_MS);
}

async function refreshDocuments() {
  if (state.view === 'detail') await loadHistory();
  if (state.view === 'documents') {
    const d = state.documents;
    await loadDocuments(d.filter, d.number);
  }
}

// Screen 6: every document of a connection ---------------------------

async function showDocuments(id, filter, number) {
  clearMessages();
  if (!DOCUMENT_FILTERS.includes(filter)) filter = '';
  if (!state.conn || state.conn.id !== id) state.conn = await loadConnection(id);
  await loadDocuments(filter, number);
  show('documents', renderDocuments);
}

async function loadDocuments(filter, number, { more = false } = {}) {
  const c = state.conn;
  const q = new URLSearchParams({ pageSize: String(DOCUMENTS_PAGE) });
  if (filter) q.set('state', filter);
  if (number) q.set('number', number);
  if (more) q.set('pageToken', state.documents.nextPageToken);
  const page = await api('GET', `/v1/connections/${enc(c.id)}/documents?${q}`);
  const items = page.documents || [];
  state.documents = {
    filter, number,
    items: more ? state.documents.items.concat(items) : items,
    nextPageToken: page.nextPageToken || '',
  };
  renderDocuments();
  return items;
}

function renderDocuments() {
  const d = state.documents;
  if (!d) return;
  const c = state.conn;
  $('documents-heading').textContent = t('documentsHeading', { name: c.name });
  $('documents-back').href = `#${routes.detail(c.id)}`;
  for (const b of document.querySelectorAll('#documents-filters button')) {
    b.setAttribute('aria-pressed', String(b.dataset.filter === d.filter));
  }
  if (document.activeElement !== $('documents-number')) $('documents-number').value = d.number;
  fillDocuments($('documents-list'), d.items);
  $('documents-empty').hidden = d.items.length > 0;
  $('documents-more').hidden = !d.nextPageToken;
  $('documents-retry-all').hidden = !d.items.some((x) => x.state === 'failed');
}

async function filterDocuments(filter, number) {
  clearMessages();
  setRoute(routes.documents(state.conn.id, filter, number));
  await loadDocuments(filter, number);
}

async function moreDocuments() {
  const d = state.documents;
  const added = await loadDocuments(d.filter, d.number, { more: true });
  // Keyboard users carry on from the first document the page added.
  const first = added.length && $('documents-list').querySelector(`li[data-document="${CSS.escape(added[0].documentId)}"]`);
  if (first) first.focus();
}

// Screen 4 ---------------------------------------------------------

async function showPicker(id, parent) {
  clearMessages();
  if (!state.conn || state.conn.id !== id) state.conn = await loadConnection(id);
  if (await folderSelection() === 'picker') { // no browsing with drive.file: the Picker is on the connection screen
    await go(routes.detail(id), { replace: true });
    return;
  }
  state.picker = { listing: null, folders: [], rootId: null, parent };
  $('create-folder-form').reset();
  setFieldError($('new-folder-name'), $('new-folder-error'), '');
  try {
    await loadFolders(parent);
  } catch (err) {
    // A bookmarked folder that is gone: start from My Drive.
    if (parent !== 'root' && err instanceof APIError && (err.status === 404 || err.kind === 'validation')) {
      setRoute(routes.folder(id));
      return showPicker(id, 'root');
    }
    return driveActionFailed(state.conn, err);
  }
  show('picker', renderPicker);
}

async function loadFolders(parent, { append = false } = {}) {
  const c = state.conn;
  let path = `/v1/connections/${enc(c.id)}/folders?parent=${enc(parent)}`;
  if (append && state.picker.listing.nextPageToken) path += `&pageToken=${enc(state.picker.listing.nextPageToken)}`;
  const listing = await api('GET', path);
  // My Drive's own ID: the top of a My Drive path (a reload may start deep inside it).
  const top = (listing.folder.path || [])[0];
  if (parent === 'root') state.picker.rootId = listing.folder.id;
  else if (top && top.id !== 'drives') state.picker.rootId = top.id;
  state.picker.folders = append ? state.picker.folders.concat(listing.folders) : listing.folders;
  state.picker.listing = listing;
  state.picker.parent = parent;
  renderPicker();
  return listing.folders;
}

async function navigate(parent, focusId) {
  clearMessages();
  try {
    await loadFolders(parent);
  } catch (err) {
    return driveActionFailed(state.conn, err);
  }
  setRoute(routes.folder(state.conn.id, parent)); // a reload comes back to this folder
  const btn = focusId && document.querySelector(`#picker-list button[data-folder="${CSS.escape(focusId)}"]`);
  (btn || $('picker-folder-heading')).focus();
}

async function moreFolders() {
  const added = await loadFolders(state.picker.parent, { append: true });
  const first = added.length && document.querySelector(`#picker-list button[data-folder="${CSS.escape(added[0].id)}"]`);
  if (first) first.focus();
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
    b.className = inDrives ? 'shared-drive' : 'folder';
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
    if (err instanceof APIError && fieldErrors(err, {
      '/name': [input, $('new-folder-error'), 'field.folderName'],
      '/parentId': [input, $('new-folder-error'), 'field.folder'],
    })) {
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
  await setTarget(state.conn, state.picker.listing.folder.id);
}

// targetInUse keeps the customer where they are and says, in words, which connection already
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
// with ?connection=<id>&result=ok|denied|error. The query is replaced by the screen's own
// address, so a reload does not show the outcome again.
async function handleReturn(id, result) {
  let c;
  try {
    c = await api('GET', `/v1/connections/${enc(id)}`);
  } catch (err) {
    await go('/connections', { replace: true });
    throw err;
  }
  state.conn = c;
  if (result === 'ok' && c.status === 'awaiting_folder') {
    await go(await folderSelection() === 'picker' ? routes.detail(c.id) : routes.folder(c.id), { replace: true });
    if (['picker', 'detail'].includes(state.view)) notify(t('result.okPick', { email: c.googleAccountEmail || '' }));
    return;
  }
  await go(routes.detail(c.id), { replace: true });
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
    b.addEventListener('click', () => run(() => go(b.dataset.go === 'apps' ? '/' : '/connections')));
  }
  $('btn-enable').addEventListener('click', () => run(() => setIntegration(true)));
  $('btn-disable').addEventListener('click', () => run(() => setIntegration(false)));
  $('btn-configure').addEventListener('click', () => run(() => go('/connections')));
  $('btn-add').addEventListener('click', () => run(() => go('/connections/new')));
  $('add-form').addEventListener('submit', (ev) => run(() => submitAdd(ev)));
  $('picker-back').addEventListener('click', () => run(() => go(routes.detail(state.conn.id))));
  $('picker-mydrive').addEventListener('click', () => navigate('root'));
  $('picker-shared').addEventListener('click', () => navigate('drives'));
  $('picker-more').addEventListener('click', () => run(moreFolders));
  $('create-folder-form').addEventListener('submit', (ev) => run(() => createFolder(ev)));
  $('picker-select').addEventListener('click', () => run(selectCurrent));
  $('detail-choose').addEventListener('click', () => run(() => chooseFolder(state.conn)));
  $('detail-resync').addEventListener('click', () => run(() => resync(state.conn)));
  $('detail-delete').addEventListener('click', askDelete);
  $('delete-cancel').addEventListener('click', () => { $('delete-dialog').close(); $('detail-delete').focus(); });
  $('delete-confirm').addEventListener('click', () => run(confirmDelete));
  $('rename-form').addEventListener('submit', (ev) => run(() => rename(ev)));
  $('layout-form').addEventListener('submit', (ev) => run(() => saveLayout(ev)));
  $('history-retry-all').addEventListener('click', () => run(retryAll));
  $('documents-retry-all').addEventListener('click', () => run(retryAll));
  $('documents-more').addEventListener('click', () => run(moreDocuments));
  for (const b of document.querySelectorAll('#documents-filters button')) {
    b.addEventListener('click', () => run(() => filterDocuments(b.dataset.filter, state.documents.number)));
  }
  $('documents-search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(() => filterDocuments(state.documents.filter, $('documents-number').value.trim()));
  });
  for (const id of ['layout-select', 'locale-select']) $(id).addEventListener('change', () => setLayoutError(''));
  // An error next to a field goes away as soon as the field is changed.
  for (const [input, error] of [['add-name', 'add-name-error'], ['rename-name', 'rename-error'], ['new-folder-name', 'new-folder-error']]) {
    $(input).addEventListener('input', () => setFieldError($(input), $(error), ''));
  }
  for (const r of document.querySelectorAll('input[name=folderLayout]')) {
    r.addEventListener('change', () => setFieldError(null, $('add-layout-error'), ''));
  }
  // Back, forward, and an address typed or followed (#/connections/…), show their screen.
  window.addEventListener('popstate', () => run(renderRoute));
}

async function main() {
  let lang = 'fr';
  try { lang = localStorage.getItem('drivesync.lang') || 'fr'; } catch { /* private mode */ }
  const q = new URLSearchParams(window.location.search);
  if (I18N[q.get('lang')]) {
    lang = q.get('lang');
    try { localStorage.setItem('drivesync.lang', lang); } catch { /* private mode */ }
  }
  state.lang = I18N[lang] ? lang : 'fr';
  applyLanguage();
  wire();
  await run(async () => {
    await loadConfig();
    const id = q.get('connection');
    const result = q.get('result');
    if (id && ['ok', 'denied', 'error'].includes(result)) await handleReturn(id, result);
    else await renderRoute();
  });
  document.body.dataset.ready = 'true';
}

main();
