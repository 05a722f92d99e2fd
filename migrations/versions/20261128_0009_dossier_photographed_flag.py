"""dossier.photographed: at least one photographed paper, for the digitisation rate

The statistics (server/stats/service.py) counted digitised dossiers with an EXISTS over every document; a province
has millions of them. The flag is kept by a before_flush listener (server/dossiers/models.py); existing dossiers
get theirs here. Issued statutory forms (form_key set) have a sha256 too but digitise nothing the citizen brought.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photographed', sa.Boolean(), server_default=sa.false(), nullable=False))
    # One UPDATE: on PostgreSQL about half a minute for a million dossiers and two million documents.
    op.execute("UPDATE dossier SET photographed = true WHERE EXISTS ("
               "SELECT 1 FROM dossier_document WHERE dossier_document.dossier_id = dossier.id "
               "AND dossier_document.sha256 IS NOT NULL AND dossier_document.form_key IS NULL)")


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('photographed')
