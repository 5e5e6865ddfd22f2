psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"app_user";
SQL
